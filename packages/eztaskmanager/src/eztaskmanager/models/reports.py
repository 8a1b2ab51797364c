"""Launch reports: one run of a task, its state, result, timing, counters and log.

How a run's state changes is :mod:`~eztaskmanager.models.run_lifecycle`; its lines are
:class:`~eztaskmanager.models.Log` rows (:mod:`~eztaskmanager.models.logs`).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import eztaskmanager.models.states as states
from eztaskmanager import origins
from eztaskmanager.arguments import split_arguments
from eztaskmanager.models.logs import tail, text_lines, write_log_rows
from eztaskmanager.models.run_lifecycle import RunBlocked, RunLifecycle, RunStarts
from eztaskmanager.models.tasks import Task

__all__ = ["LaunchReport", "LaunchReportQuerySet", "RunBlocked"]


class LaunchReportQuerySet(RunStarts, models.QuerySet):
    def active(self) -> LaunchReportQuerySet:
        """Runs that have not ended: queued, running or stopping."""
        return self.filter(state__in=states.ACTIVE)

    def running(self) -> LaunchReportQuerySet:
        """Runs that a worker has started and that have not ended."""
        return self.filter(state__in=states.STARTED)

    def queued(self) -> LaunchReportQuerySet:
        return self.filter(state=states.QUEUED)


class LaunchReport(RunLifecycle, models.Model):
    """One run of a task: its state, result, timing and counters; the lines are :class:`Log` rows."""

    STATE_QUEUED = states.QUEUED
    STATE_RUNNING = states.RUNNING
    STATE_STOPPING = states.STOPPING
    STATE_FINISHED = states.FINISHED
    STATE_CHOICES = states.CHOICES
    ACTIVE_STATES = states.ACTIVE
    RUNNING_STATES = states.STARTED

    RESULT_NO = ""
    RESULT_OK = "ok"
    RESULT_WARNINGS = "warnings"
    RESULT_ERRORS = "errors"
    RESULT_FAILED = "failed"
    RESULT_STOPPED = "stopped"
    RESULT_CHOICES = (
        (RESULT_NO, "---"),
        (RESULT_OK, _("OK")),
        (RESULT_WARNINGS, _("WARNINGS")),
        (RESULT_ERRORS, _("ERRORS")),
        (RESULT_FAILED, _("FAILED")),
        (RESULT_STOPPED, _("STOPPED")),
    )

    task = models.ForeignKey(Task, on_delete=models.CASCADE, verbose_name=_("task"))
    state = models.CharField(
        _("state"), max_length=10, choices=STATE_CHOICES, default=STATE_RUNNING, editable=False
    )
    invocation_result = models.CharField(
        _("invocation result"), max_length=20, choices=RESULT_CHOICES, blank=True
    )
    invocation_datetime = models.DateTimeField(
        _("invocation datetime"),
        default=timezone.now,
        help_text=_("When the run started (while it is queued: when it was queued)."),
    )
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    reason = models.CharField(
        _("reason"), max_length=255, blank=True, help_text=_("Why the run ended as it did.")
    )
    job_id = models.CharField(_("job id"), max_length=255, blank=True)
    timeout = models.PositiveIntegerField(_("timeout"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    host_key = models.CharField(_("host key"), max_length=255, blank=True, editable=False)
    # The process that started the run's (an RQ worker, Celery's main process): while it
    # lives, it tells how the run's process ended before a lookout calls it lost.
    parent_pid = models.PositiveIntegerField(
        _("parent process id"), null=True, blank=True, editable=False
    )
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    n_log_lines = models.PositiveIntegerField(_("lines"), default=0)
    n_log_errors = models.PositiveIntegerField(_("errors"), default=0)
    n_log_warnings = models.PositiveIntegerField(_("warnings"), default=0)
    # What the run ran with, kept when the task changes later (empty in older reports).
    command_app_name = models.CharField(_("command's app"), max_length=255, blank=True)
    command_name = models.CharField(_("command"), max_length=255, blank=True)
    arguments = models.TextField(_("arguments"), blank=True)
    # A retry: its attempt number, the task's first attempt, and when it is due.
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    first_attempt = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
        verbose_name=_("first attempt"),
    )
    not_before = models.DateTimeField(
        _("due at"), null=True, blank=True, help_text=_("When a retry may start.")
    )
    # The bars its command reports (eztaskmanager.progress): the latest value of each.
    progress = models.JSONField(_("progress"), default=dict, blank=True, editable=False)
    # Started with "Run now with...": its arguments are its own, not the task's.
    custom_arguments = models.BooleanField(
        _("other arguments"),
        default=False,
        help_text=_("Run once with other arguments than the task's."),
    )

    # Who or what started the run (see eztaskmanager.origins).
    origin = models.CharField(
        _("started by"), max_length=20, choices=origins.CHOICES, blank=True, editable=False
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("user"),
        help_text=_("The user who started the run, or armed the schedule or chain that did."),
    )

    objects = LaunchReportQuerySet.as_manager()

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("launch report")
        verbose_name_plural = _("launch reports")
        ordering = ["-invocation_datetime"]
        permissions = [("view_all_reports", _("Can see the reports of every user's runs"))]
        indexes = [
            models.Index(fields=["task", "-invocation_datetime"], name="eztm_report_task_idx"),
            models.Index(
                fields=["state"],
                condition=~models.Q(state="finished"),
                name="eztm_report_active_idx",
            ),
        ]

    def __str__(self) -> str:
        """The task, when the run started (in the site's time zone), and its result or state."""
        when = timezone.localtime(self.invocation_datetime).strftime("%Y-%m-%d %H:%M:%S")
        outcome = self.get_invocation_result_display() if self.invocation_result else self.state
        return f"{self.task} · {when} · {outcome}"

    @property
    def is_running(self) -> bool:
        """Whether the run has not ended (it may still be queued)."""
        return self.finished_at is None

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def started(self) -> bool:
        """Whether a worker started the run (reports from before run states count as started)."""
        return self.heartbeat_at is not None or self.queued_at is None

    @property
    def duration(self) -> timedelta | None:
        """How long the run took; ``None`` while it goes on, or if it never started."""
        if self.finished_at is None or not self.started:
            return None
        return self.finished_at - self.invocation_datetime

    @property
    def ran_command(self) -> str:
        """``app: command`` as the run ran it (the task's, for reports older than that record)."""
        if self.command_name:
            return f"{self.command_app_name}: {self.command_name}"
        return str(self.task.command)

    @property
    def ran_arguments(self) -> str:
        """The arguments text the run ran with (the task's, for reports older than that record)."""
        return self.arguments if self.command_name else self.task.arguments

    @property
    def args(self) -> list[str]:
        """The argv items the run runs with, split from :attr:`ran_arguments`."""
        return split_arguments(self.ran_arguments)

    def result_from_counters(self) -> str:
        """The result of a run that ended without an exception, from its counters."""
        if self.n_log_errors:
            return self.RESULT_ERRORS
        if self.n_log_warnings:
            return self.RESULT_WARNINGS
        return self.RESULT_OK

    # Log -----------------------------------------------------------------------------------
    def append_log(self, level: str, message: str) -> bool:
        """Add one line from outside the run, numbered after the rest; False once it ended."""
        return write_log_rows(self.pk, [(time.time(), level, message)])

    def get_log_lines(self) -> list[str]:
        """Every line, formatted as ``timestamp - LEVEL - message``."""
        return text_lines(self.pk, 0, self._size())

    def read_log_lines(self, offset: int, limit: int | None = None) -> tuple[list[str], int]:
        """Return the formatted lines from ``offset`` (0-based) on, and the total count.

        Reads by line number (a keyset), so the cost does not grow with ``offset``.
        """
        total = self._size()
        end = total if limit is None else min(max(offset, 0) + limit, total)
        return text_lines(self.pk, offset, end), total

    def log_tail(self, n_lines: int = 10) -> list[str]:
        """The last ``n_lines`` formatted lines: a :class:`~eztaskmanager.models.logs.LogTail`,
        a list that reads as text, as 0.5's did."""
        return tail(self.pk, self._size(), n_lines)

    def _size(self) -> int:
        """The number of lines now (a run that goes on adds lines after this was read)."""
        return LaunchReport.objects.values_list("n_log_lines", flat=True).get(pk=self.pk)

    def delete(self, *args: Any, **kwargs: Any):
        """Delete the report, then refresh the task's cached figures."""
        task = self.task
        result = super().delete(*args, **kwargs)
        task.compute_cache()
        return result
