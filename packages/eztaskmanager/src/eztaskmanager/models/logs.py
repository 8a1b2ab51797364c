"""The lines of a run's log, and the one function that appends them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager.exceptions import EzTaskManagerError
from eztaskmanager.utils import format_local_dt

# Levels that count as errors and warnings in a report's counters (and so in its result).
ERROR_LEVELS = ("ERROR", "CRITICAL")
WARNING_LEVELS = ("WARNING",)


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

        counted = _append(self.launch_report_id, [self.level], write, using=using)
        if not counted:
            self.line = None
            raise RunEndedError(
                f"Run {self.launch_report_id} has ended (or does not exist): "
                "no line is added to it."
            )

    def formatted(self) -> str:
        """``2026-10-05 09:49:07 CEST - LEVEL - message``: local time, as 0.5 wrote it."""
        return f"{format_local_dt(self.timestamp)} - {self.level} - {self.message}"


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


class RunEndedError(EzTaskManagerError, ValueError):
    """A line was saved to a run that has ended: its log and counters are final."""


def _append(
    report_id: int,
    levels: list[str],
    write: Callable[[int], None],
    counted: bool = True,
    using: str | None = None,
) -> bool:
    """Call ``write(first_line)`` for lines of ``levels`` under the report's lock, and count them.

    The lines are numbered after the report's last one. Returns False, calling nothing,
    when the report has ended or does not exist.
    """
    from eztaskmanager.models.reports import LaunchReport

    errors = sum(1 for level in levels if level in ERROR_LEVELS) if counted else 0
    warnings = sum(1 for level in levels if level in WARNING_LEVELS) if counted else 0
    reports = LaunchReport.objects.using(using) if using else LaunchReport.objects
    with transaction.atomic(using=using):
        start = (
            reports.select_for_update()
            .filter(pk=report_id)
            .exclude(state=LaunchReport.STATE_FINISHED)
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


def write_log_rows(
    report_id: int, rows: list[tuple[float, str, str]], counted: bool = True
) -> bool:
    """Append ``(created, level, message)`` rows (``created`` in epoch seconds) to a run's log.

    Numbers the rows after the report's last line and adds them to its counters (unless
    ``counted`` is False: lines the task manager writes about a run, which must not
    change its result). The report row is locked meanwhile, so lines written by the run
    and by another process (a stop request) never share a number. Returns False, writing
    nothing, once the run has ended: nothing is added to a finished report.
    """
    from eztaskmanager.services.logstore import insert_log_rows

    if not rows:
        return True
    return _append(
        report_id,
        [level for _created, level, _message in rows],
        lambda start: insert_log_rows(report_id, start, rows),
        counted=counted,
    )
