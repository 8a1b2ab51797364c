"""A run's log: the ``Log`` rows, and the one place that writes, reads and formats them.

**Writing.** Lines are appended under a lock on their report's row, numbered after its
last line and added to its counters in the same transaction, so lines written by the
run and by another process (a stop request) never share a number, and nothing is added
to a run that has ended. One INSERT per record costs about a millisecond, so rows go in
as plain tuples: ``COPY`` on PostgreSQL (psycopg 3), one prepared ``executemany`` on
SQLite, multi-row ``VALUES`` elsewhere.

**Reading.** Lines are read by their per-report number (a keyset on the unique
``(launch_report, line)`` index), never with SQL ``OFFSET``, and as tuples, so a page from
line 999,000 costs what a page from line 0 does.

**Formatting.** One line format everywhere (raw text, the admin, notifications, 0.5's
``log_tail()``): ``2026-10-05 09:49:07 CEST - INFO - message``, in the current time zone, as
0.5 wrote it (notifiers written for 0.5 read it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, tzinfo
from datetime import timezone as dt_timezone
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager.exceptions import EzTaskManagerError

# Levels that count as errors and warnings in a report's counters (and so in its result).
ERROR_LEVELS = ("ERROR", "CRITICAL")
WARNING_LEVELS = ("WARNING",)
COLUMNS = ("launch_report_id", "line", "timestamp", "level", "message")
MAX_ROWS_PER_STATEMENT = 1000

# A line as it is read: (line number, timestamp, level, message).
Row = tuple[int, datetime, str, str]


class Log(models.Model):
    """One line of a run's log; ``line`` numbers them from 0 within their report."""

    # Log rows are the hot path (100,000 a run is common), so each INSERT is kept cheap:
    # no index of its own (the unique (launch_report, line) index serves every lookup)
    # and no database-level constraint (checking it per row doubles PostgreSQL's COPY
    # time). Django still cascades deletes; rows are only ever written for a report
    # that exists, under a lock on it (see write_log_rows).
    launch_report = models.ForeignKey(
        "LaunchReport",
        on_delete=models.CASCADE,
        related_name="logs",
        verbose_name=_("launch report"),
        db_index=False,
        db_constraint=False,
    )
    line = models.PositiveIntegerField(_("line"))
    timestamp = models.DateTimeField(_("timestamp"))
    level = models.CharField(_("level"), max_length=10)
    message = models.TextField(_("message"))

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("log line")
        verbose_name_plural = _("log lines")
        ordering = ["launch_report", "line"]
        constraints = [
            models.UniqueConstraint(fields=["launch_report", "line"], name="eztaskmanager_log_line")
        ]

    def __str__(self) -> str:
        return self.formatted()

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save a new line without a ``line`` as the next line of its run, and count it.

        Code written for 0.5 (``Log.objects.create(launch_report=..., level=...,
        message=...)``) goes through the same path as the task manager's own writes: under
        the report's lock, numbered after its last line, counted, time-stamped now when no
        ``timestamp`` is given. A run that has ended takes no more lines:
        :class:`RunEndedError` is raised and nothing is written.
        """
        if not (self._state.adding and self.line is None):
            super().save(*args, **kwargs)
            return
        if self.timestamp is None:
            self.timestamp = timezone.now()
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)

        def write(first_line: int) -> None:
            self.line = first_line
            super(Log, self).save(*args, **kwargs)

        if not _append(self.launch_report_id, [self.level], write, using=using):
            self.line = None
            raise RunEndedError(
                f"Run {self.launch_report_id} has ended (or does not exist): "
                "no line is added to it."
            )

    def formatted(self) -> str:
        """The line as text: ``timestamp - LEVEL - message`` (see :func:`format_line`)."""
        return format_line(self.timestamp, self.level, self.message)


class RunEndedError(EzTaskManagerError, ValueError):
    """A line was saved to a run that has ended: its log and counters are final."""


class LogTail(list):
    """The last lines of a run's log: a list of lines that reads as text, as it did in 0.5.

    ``str()``, ``f"{tail}"`` and ``"..." + tail`` give the lines one per line, after
    ``N lines hidden ...`` when the log has more (0.5's ``log_tail()`` returned that text;
    notifiers written for it format it as it is).
    """

    def __init__(self, lines: Any = (), hidden: int = 0) -> None:
        super().__init__(lines)
        self.hidden = hidden

    def __str__(self) -> str:
        lines = [f"{self.hidden} lines hidden ...", *self] if self.hidden > 0 else self
        return "\n".join(lines)

    def __add__(self, other: Any) -> Any:
        if isinstance(other, str):
            return str(self) + other
        return super().__add__(other)

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, str):
            return other + str(self)
        return NotImplemented


# Formatting ----------------------------------------------------------------------------------
def format_time(value: datetime, tz: tzinfo | None = None) -> str:
    """``2026-10-05 09:49:07 CEST``: the time in ``tz`` (default: the current zone), as 0.5 wrote it."""
    return value.astimezone(tz or timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M:%S %Z")


def format_line(stamp: datetime, level: str, message: str, tz: tzinfo | None = None) -> str:
    """The one text form of a log line: ``time - LEVEL - message``."""
    return f"{format_time(stamp, tz)} - {level} - {message}"


# Reading -------------------------------------------------------------------------------------
def read_rows(report_id: int, start: int, end: int) -> list[Row]:
    """Lines ``start`` to ``end - 1`` of a report, by keyset, as tuples.

    Lines are numbered densely from 0, so bounding both ends keeps the read at one page
    whatever plan the database picks (with stale statistics PostgreSQL may otherwise
    choose a bitmap scan plus sort of every line after ``start``).
    """
    if end <= start:
        return []
    return list(
        Log.objects.filter(launch_report_id=report_id, line__gte=max(start, 0), line__lt=end)
        .order_by("line")
        .values_list("line", "timestamp", "level", "message")
    )


def text_lines(report_id: int, start: int, end: int) -> list[str]:
    """Lines ``start`` to ``end - 1`` as text, without their newlines."""
    tz = timezone.get_current_timezone()
    return [
        format_line(stamp, lvl, msg, tz) for _n, stamp, lvl, msg in read_rows(report_id, start, end)
    ]


def tail(report_id: int, size: int, n_lines: int) -> LogTail:
    """The last ``n_lines`` lines of a ``size``-line log, as a :class:`LogTail`."""
    first = max(size - n_lines, 0)
    return LogTail(text_lines(report_id, first, size), hidden=first)


def iter_text(report_id: int, size: int, chunk: int = 10_000) -> Iterator[str]:
    """Every line of a ``size``-line log as text (with its newline), read in keyset chunks."""
    tz = timezone.get_current_timezone()  # once: it is a context-local lookup
    for start in range(0, size, chunk):
        for _line, stamp, level, message in read_rows(report_id, start, start + chunk):
            yield format_line(stamp, level, message, tz) + "\n"


# Writing -------------------------------------------------------------------------------------
def write_log_rows(
    report_id: int, rows: Sequence[tuple[float, str, str]], counted: bool = True
) -> bool:
    """Append ``(created, level, message)`` rows (``created`` in epoch seconds) to a run's log.

    Adds them to the report's counters unless ``counted`` is False: lines the task manager
    writes about a run, which must not change its result. Returns False, writing nothing,
    once the run has ended.
    """
    if not rows:
        return True
    using = router.db_for_write(Log)
    return _append(
        report_id,
        [level for _created, level, _message in rows],
        lambda start: _insert_rows(connections[using], report_id, start, rows),
        counted=counted,
        using=using,
    )


def _append(
    report_id: int,
    levels: list[str],
    write: Callable[[int], None],
    counted: bool = True,
    using: str | None = None,
) -> bool:
    """Call ``write(first_line)`` for lines of ``levels`` under the report's lock, and count them.

    Returns False, calling nothing, when the report has ended or does not exist.
    """
    report_model = Log._meta.get_field("launch_report").related_model
    errors = sum(1 for level in levels if level in ERROR_LEVELS) if counted else 0
    warnings = sum(1 for level in levels if level in WARNING_LEVELS) if counted else 0
    reports = report_model.objects.using(using) if using else report_model.objects
    with transaction.atomic(using=using):
        start = (
            reports.select_for_update()
            .filter(pk=report_id)
            .exclude(state=report_model.STATE_FINISHED)
            .values_list("n_log_lines", flat=True)
            .first()
        )
        if start is None:
            return False
        write(start)
        reports.filter(pk=report_id).update(
            n_log_lines=F("n_log_lines") + len(levels),
            n_log_errors=F("n_log_errors") + errors,
            n_log_warnings=F("n_log_warnings") + warnings,
        )
    return True


def _insert_rows(
    connection: Any, report_id: int, first_line: int, rows: Sequence[tuple[float, str, str]]
) -> None:
    """Insert the rows as lines ``first_line``... in as few statements as the database allows."""
    ops = connection.ops
    table = ops.quote_name(Log._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
    adapt = _timestamp_adapter(connection)
    params = [
        (report_id, line, adapt(created), level, message)
        for line, (created, level, message) in enumerate(rows, start=first_line)
    ]
    if connection.vendor == "postgresql":
        # PostgreSQL text cannot hold NUL; one such byte would lose the whole batch.
        params = [
            row if "\x00" not in row[4] else (*row[:4], row[4].replace("\x00", "\ufffd"))
            for row in params
        ]
    placeholders = "(%s, %s, %s, %s, %s)"
    with connection.cursor() as cursor:
        if hasattr(cursor.cursor, "copy"):  # psycopg 3: by far PostgreSQL's fastest way in
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
            return
        if connection.vendor == "sqlite":  # one prepared statement, looped in C
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES {placeholders}", params)
            return
        max_params = connection.features.max_query_params or 1_000_000
        chunk = max(1, min(MAX_ROWS_PER_STATEMENT, max_params // len(COLUMNS)))
        for begin in range(0, len(params), chunk):
            part = params[begin : begin + chunk]
            values = ", ".join([placeholders] * len(part))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values}",
                [value for row in part for value in row],
            )


def _timestamp_adapter(connection: Any) -> Callable[[float], object]:
    """Turn a record's ``created`` (epoch seconds) into what the database stores, fast.

    Equivalent to ``connection.ops.adapt_datetimefield_value()`` on an aware datetime:
    SQLite stores naive UTC text, PostgreSQL reads UTC text with its offset. Records come
    in bursts within one second, so the date and time are formatted once per second.
    """
    if connection.vendor not in ("sqlite", "postgresql"):
        adapt = connection.ops.adapt_datetimefield_value
        return lambda created: adapt(datetime.fromtimestamp(created, dt_timezone.utc))
    suffix = "+00" if connection.vendor == "postgresql" else ""
    cache: dict[int, str] = {}

    def text(created: float) -> str:
        second = int(created)
        prefix = cache.get(second)
        if prefix is None:
            cache.clear()
            prefix = cache[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return f"{prefix}.{int((created - second) * 1_000_000):06d}{suffix}"

    return text
