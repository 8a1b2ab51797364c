"""A run's log: the ``Log`` rows, and the one place that writes, reads and formats them.

**Writing.** Lines are appended under a lock on their report's row, numbered after its
last line and added to its counters in the same transaction, so lines written by the
run and by another process (a stop request) never share a number, and nothing is added
to a run that has ended. One INSERT per record costs about a millisecond, so a batch goes
in as few statements as each database allows (:mod:`eztaskmanager.models.log_inserts`).

**Reading.** Lines are read by their per-report number (a keyset on the unique
``(launch_report, line)`` index), never with SQL ``OFFSET``, and as tuples, so a page from
line 999,000 costs what a page from line 0 does.

**Formatting.** One line format everywhere (raw text, the admin, notifications, 0.5's
``log_tail()``): ``2026-10-05 09:49:07 CEST - INFO - message``, in the current time zone, as
0.5 wrote it (notifiers written for 0.5 read it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from django.db import connections, models, router, transaction
from django.db.models import TextField
from django.db.models.functions import Cast, Substr
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from eztaskmanager.exceptions import EzTaskManagerError
from eztaskmanager.models.compiled import (
    INT_MARKERS,
    POSITIVE_INT_MARKERS,
    CompiledRead,
    CompiledRows,
    update_rows,
)
from eztaskmanager.models.log_inserts import few_lines_write, insert_rows
from eztaskmanager.models.writes import Write

# Levels that count as errors and warnings in a report's counters (and so in its result).
ERROR_LEVELS = ("ERROR", "CRITICAL")
WARNING_LEVELS = ("WARNING",)


class LogColumns(NamedTuple):
    """Lines as a run's handler keeps them, column by column: their times (epoch seconds),
    levels and messages."""

    created: Sequence[float]
    levels: Sequence[str]
    messages: Sequence[str]


NO_LINES = LogColumns((), (), ())


def level_counts(levels: Sequence[str]) -> tuple[int, int]:
    """How many of ``levels`` count as errors, and how many as warnings."""
    counts = Counter(levels)
    return (
        sum(counts[level] for level in ERROR_LEVELS),
        sum(counts[level] for level in WARNING_LEVELS),
    )


# A line as it is read: (line number, timestamp, level, message); with its time as text.
Row = tuple[int, datetime, str, str]
TextRow = tuple[int, str, str, str]
# Databases whose timestamps read as ISO text (``YYYY-MM-DD HH:MM:SS...``), in the zone of
# Django's connection.
ISO_TEXT_VENDORS = ("postgresql", "sqlite")


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
    return line_text(format_time(stamp, tz), level, message)


def line_text(time_text: str, level: str, message: str) -> str:
    """:func:`format_line` of a line whose time is already text (see :func:`read_lines`)."""
    return f"{time_text} - {level} - {message}"


# Reading -------------------------------------------------------------------------------------
def _page(report_id: int, start: int, end: int) -> models.QuerySet:
    """Lines ``start`` to ``end - 1`` of a report, by keyset, in order.

    Lines are numbered densely from 0, so bounding both ends keeps the read at one page
    whatever plan the database picks (with stale statistics PostgreSQL may otherwise
    choose a bitmap scan plus sort of every line after ``start``).
    """
    return Log.objects.filter(
        launch_report_id=report_id, line__gte=max(start, 0), line__lt=end
    ).order_by("line")


def read_rows(report_id: int, start: int, end: int) -> list[Row]:
    """Lines ``start`` to ``end - 1`` of a report, by keyset, as tuples."""
    if end <= start:
        return []
    return list(_page(report_id, start, end).values_list("line", "timestamp", "level", "message"))


def _text_page(using: str, report_id: int, start: int, end: int) -> models.QuerySet:
    """:func:`_page` as ``(line, level, message, second)``, the second as text:
    "YYYY-MM-DD HH:MM:SS" in the connection's zone (UTC, or DATABASES' TIME_ZONE)."""
    return (
        _page(report_id, start, end)
        .using(using)
        .annotate(second=Substr(Cast("timestamp", TextField()), 1, 19))
        .values_list("line", "level", "message", "second")  # the order of its SQL
    )


# The viewer's page, compiled once per connection: building and compiling the queryset
# took as long as reading a page of 1,000 lines (0.4-0.6 ms, benchmarks/log_viewer.py).
_TEXT_PAGE = CompiledRows(
    _text_page,
    report_id=INT_MARKERS[0],
    start=POSITIVE_INT_MARKERS[0],
    end=POSITIVE_INT_MARKERS[1],
)


def read_lines(report_id: int, start: int, end: int, tz: tzinfo | None = None) -> list[TextRow]:
    """Lines ``start`` to ``end - 1`` as tuples whose time is already text (:func:`format_time`).

    What the viewer and the raw text read, thousands of lines at a time: on PostgreSQL
    and SQLite the database sends each timestamp's second as text, which is parsed and
    formatted once per second of the log, not once per line (a datetime per line costs
    more than the read itself).
    """
    if end <= start:
        return []
    tz = tz or timezone.get_current_timezone()
    connection = connections[router.db_for_read(Log)]
    if connection.vendor not in ISO_TEXT_VENDORS:
        return [
            (line, format_time(stamp, tz), level, message)
            for line, stamp, level, message in read_rows(report_id, start, end)
        ]
    rows = _TEXT_PAGE.all(connection.alias, report_id=report_id, start=max(start, 0), end=end)
    formatted: dict[str, str] = {}
    stored_zone = connection.timezone

    def clock(text: str) -> str:
        value = parse_datetime(text)
        if value is None:
            raise ValueError(f"Unexpected timestamp text from the database: {text!r}")
        if stored_zone is not None:
            value = timezone.make_aware(value, stored_zone)
        formatted[text] = format_time(value, tz)
        return formatted[text]

    return [
        (line, formatted.get(text) or clock(text), level, message)
        for line, level, message, text in rows
    ]


def text_lines(report_id: int, start: int, end: int) -> list[str]:
    """Lines ``start`` to ``end - 1`` as text, without their newlines."""
    return [line_text(*row[1:]) for row in read_lines(report_id, start, end)]


def tail(report_id: int, size: int, n_lines: int) -> LogTail:
    """The last ``n_lines`` lines of a ``size``-line log, as a :class:`LogTail`."""
    first = max(size - n_lines, 0)
    return LogTail(text_lines(report_id, first, size), hidden=first)


def iter_text(report_id: int, size: int, chunk: int = 10_000) -> Iterator[str]:
    """Every line of a ``size``-line log as text (with its newline), read in keyset chunks."""
    tz = timezone.get_current_timezone()  # once: it is a context-local lookup
    for start in range(0, size, chunk):
        for _line, stamp, level, message in read_lines(report_id, start, start + chunk, tz):
            yield line_text(stamp, level, message) + "\n"


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
    return write_log_columns(report_id, *zip(*rows, strict=True), counted=counted)


def write_log_columns(
    report_id: int,
    created: Sequence[float],
    levels: Sequence[str],
    messages: Sequence[str],
    counted: bool = True,
) -> bool:
    """:func:`write_log_rows` of the rows' columns, as a run's handler keeps them."""
    if not levels:
        return True
    using = router.db_for_write(Log)
    return _append(
        report_id,
        levels,
        lambda start: insert_rows(
            connections[using], Log, report_id, start, created, levels, messages
        ),
        counted=counted,
        using=using,
    )


def insert_locked(report_id: int, first_line: int, lines: LogColumns) -> None:
    """Insert ``lines`` as lines ``first_line``... of a report whose row the caller has
    locked, and whose line count it read under that lock (the run's end, whose UPDATE
    counts them with the rest)."""
    insert_rows(connections[router.db_for_write(Log)], Log, report_id, first_line, *lines)


def lines_write(report_id: int, first_line: int, lines: LogColumns) -> Write | None:
    """What :func:`insert_locked` would write, as one statement to run with the caller's
    other writes; ``None`` where it takes more (or other) statements than one."""
    connection = connections[router.db_for_write(Log)]
    return few_lines_write(connection, Log, report_id, first_line, *lines)


def _lines_of_unfinished_report(using: str, pk: int) -> models.QuerySet:
    """The report's line count, locked, unless the report has ended."""
    reports = Log._meta.get_field("launch_report").related_model
    return (
        reports.objects.using(using)
        .select_for_update()
        .filter(pk=pk)
        .exclude(state=reports.STATE_FINISHED)
        .values_list("n_log_lines")
    )


# The lock of every batch of a run's lines: compiled once per connection.
_LINES_OF_UNFINISHED_REPORT = CompiledRead(_lines_of_unfinished_report, pk=INT_MARKERS[0])


def _append(
    report_id: int,
    levels: Sequence[str],
    write: Callable[[int], None],
    counted: bool = True,
    using: str | None = None,
) -> bool:
    """Call ``write(first_line)`` for lines of ``levels`` under the report's lock, and count them.

    Returns False, calling nothing, when the report has ended or does not exist.
    """
    report_model = Log._meta.get_field("launch_report").related_model
    errors, warnings = level_counts(levels) if counted else (0, 0)
    using = using or router.db_for_write(report_model)
    with transaction.atomic(using=using):
        row = _LINES_OF_UNFINISHED_REPORT.first(using, pk=report_id)
        if row is None:
            return False
        write(row[0])
        update_rows(
            report_model,
            {"pk": report_id},
            increments={
                "n_log_lines": len(levels),
                "n_log_errors": errors,
                "n_log_warnings": warnings,
            },
            using=using,
        )
    return True
