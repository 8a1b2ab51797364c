"""The lines of a run's log, and the one function that appends them."""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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

    def formatted(self) -> str:
        """``timestamp - LEVEL - message``, the time in the current time zone."""
        return f"{timezone.localtime(self.timestamp)} - {self.level} - {self.message}"


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
    from eztaskmanager.models.reports import LaunchReport
    from eztaskmanager.services.logstore import insert_log_rows

    if not rows:
        return True
    errors = sum(1 for _t, level, _m in rows if level in ERROR_LEVELS) if counted else 0
    warnings = sum(1 for _t, level, _m in rows if level in WARNING_LEVELS) if counted else 0
    with transaction.atomic():
        start = (
            LaunchReport.objects.select_for_update()
            .filter(pk=report_id)
            .exclude(state=LaunchReport.STATE_FINISHED)
            .values_list("n_log_lines", flat=True)
            .first()
        )
        if start is None:
            return False
        insert_log_rows(report_id, start, rows)
        LaunchReport.objects.filter(pk=report_id).update(
            n_log_lines=F("n_log_lines") + len(rows),
            n_log_errors=F("n_log_errors") + errors,
            n_log_warnings=F("n_log_warnings") + warnings,
        )
    return True
