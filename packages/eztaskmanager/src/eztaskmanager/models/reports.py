"""Launch reports: one run of a task, from the queue to its final result.

A run's ``state`` goes ``queued`` -> ``running`` -> (``stopping`` ->) ``finished``, or
straight from ``queued`` to ``finished`` when it is stopped or lost before it starts.
Every transition is a method here, under the task's row lock, and each one is a
conditional UPDATE naming the states it leaves: the first final state wins, and a later
one (an orphaned process ending after its run was declared lost) changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models.logs import tail, text_lines, write_log_rows
from eztaskmanager.models.tasks import Task

logger = logging.getLogger(__name__)


class RunBlocked(Exception):
    """A run cannot start because another run of the task has not ended (``report``)."""

    def __init__(self, report: LaunchReport) -> None:
        super().__init__(f"Run {report.pk} of task {report.task_id} has not ended.")
        self.report = report


class LaunchReportQuerySet(models.QuerySet):
    def active(self) -> LaunchReportQuerySet:
        """Runs that have not ended: queued, running or stopping."""
        return self.filter(state__in=LaunchReport.ACTIVE_STATES)

    def running(self) -> LaunchReportQuerySet:
        """Runs that a worker has started and that have not ended."""
        return self.filter(state__in=LaunchReport.RUNNING_STATES)

    def queued(self) -> LaunchReportQuerySet:
        return self.filter(state=LaunchReport.STATE_QUEUED)

    def start_run(
        self,
        task_id: int,
        job_id: str = "",
        *,
        worker: str = "",
        pid: int | None = None,
        host_key: str = "",
        timeout_for: Callable[[Task], int | None] | None = None,
    ) -> LaunchReport | None:
        """Mark the run of ``job_id`` started in this process; return its report.

        The run is the one queued as ``job_id``; a job with no queued run (a schedule's
        job, or a direct call) gets a new report. Returns ``None`` when there is nothing
        to run: the task is gone, or its run was stopped or lost before it started, or
        its command is not active (the run fails, the schedule ends). Raises
        :class:`RunBlocked` when another run of the task has not ended. ``timeout_for``
        gives the run's timeout in seconds (the backend's rule).
        """
        now = timezone.now()
        with transaction.atomic():
            task = Task.locked(task_id)
            if task is None:
                logger.warning("Task %s no longer exists; its job %s is dropped.", task_id, job_id)
                return None
            report = task.launchreport_set.filter(job_id=job_id).first() if job_id else None
            if report is not None and report.state != LaunchReport.STATE_QUEUED:
                logger.warning(
                    "Run %s of task %s (job %s) ended before it started (%s); not run.",
                    report.pk,
                    task_id,
                    job_id,
                    report.invocation_result or report.state,
                )
                return None
            if report is None:
                blocking = task.active_runs().first()
                if blocking is not None:
                    raise RunBlocked(blocking)
                report = LaunchReport.objects.create(
                    task=task,
                    state=LaunchReport.STATE_QUEUED,
                    job_id=job_id or "",
                    **task.run_snapshot(),
                )
            if not task.command.active:
                report.finish(
                    LaunchReport.RESULT_FAILED,
                    gettext("Not run: the command %(command)s is not active.")
                    % {"command": task.command},
                )
                if task.clear_schedule():
                    logger.warning(
                        "Task %s: its command %s is not active; its schedule ends.",
                        task_id,
                        task.command,
                    )
                return None
            fields = {
                "state": LaunchReport.STATE_RUNNING,
                "invocation_datetime": now,
                "heartbeat_at": now,
                "worker": worker[:255],
                "pid": pid,
                "host_key": host_key[:255],
                "timeout": timeout_for(task) if timeout_for else task.timeout,
                # What the run runs: the task's command and arguments as they are now.
                **task.run_snapshot(),
            }
            LaunchReport.objects.filter(pk=report.pk).update(**fields)
            for name, value in fields.items():
                setattr(report, name, value)
            report.task = task
            task.sync_status()
        return report


class LaunchReport(models.Model):
    """One run of a task: its state, result, timing and counters; the lines are :class:`Log` rows."""

    STATE_QUEUED = "queued"
    STATE_RUNNING = "running"
    STATE_STOPPING = "stopping"
    STATE_FINISHED = "finished"
    STATE_CHOICES = (
        (STATE_QUEUED, _("queued")),
        (STATE_RUNNING, _("running")),
        (STATE_STOPPING, _("stopping")),
        (STATE_FINISHED, _("finished")),
    )
    ACTIVE_STATES = (STATE_QUEUED, STATE_RUNNING, STATE_STOPPING)
    RUNNING_STATES = (STATE_RUNNING, STATE_STOPPING)

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
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    n_log_lines = models.PositiveIntegerField(_("lines"), default=0)
    n_log_errors = models.PositiveIntegerField(_("errors"), default=0)
    n_log_warnings = models.PositiveIntegerField(_("warnings"), default=0)
    # What the run ran with, kept when the task changes later (empty in older reports).
    command_app_name = models.CharField(_("command's app"), max_length=255, blank=True)
    command_name = models.CharField(_("command"), max_length=255, blank=True)
    arguments = models.TextField(_("arguments"), blank=True)

    objects = LaunchReportQuerySet.as_manager()

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("launch report")
        verbose_name_plural = _("launch reports")
        ordering = ["-invocation_datetime"]
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

    def result_from_counters(self) -> str:
        """The result of a run that ended without an exception, from its counters."""
        if self.n_log_errors:
            return self.RESULT_ERRORS
        if self.n_log_warnings:
            return self.RESULT_WARNINGS
        return self.RESULT_OK

    # Transitions ---------------------------------------------------------------------------
    def heartbeat(self) -> str:
        """Record that the run's process is alive; return the run's state.

        One UPDATE while the run goes on. Anything but ``running`` tells the run to end:
        ``stopping`` (a stop was asked for) or ``finished`` (it was declared lost, or the
        task was deleted).
        """
        now = timezone.now()
        for state in self.RUNNING_STATES:
            if LaunchReport.objects.filter(pk=self.pk, state=state).update(heartbeat_at=now):
                return state
        return self.STATE_FINISHED

    def request_stop(self, by: str = "") -> str:
        """Ask the run to stop; return its state afterwards.

        A queued run ends ``stopped`` at once (its worker will not start it); a running
        one becomes ``stopping`` until its process has stopped.
        """
        who = by or gettext("a stop request")
        with transaction.atomic():
            if Task.locked(self.task_id) is None:
                return self.STATE_FINISHED
            state = LaunchReport.objects.filter(pk=self.pk).values_list("state", flat=True).first()
            if state == self.STATE_QUEUED:
                self.finish(
                    self.RESULT_STOPPED,
                    gettext("Stopped by %(who)s before it started.") % {"who": who},
                    states=(self.STATE_QUEUED,),
                )
                return self.STATE_FINISHED
            if state == self.STATE_RUNNING:
                LaunchReport.objects.filter(pk=self.pk, state=self.STATE_RUNNING).update(
                    state=self.STATE_STOPPING
                )
                write_log_rows(
                    self.pk,
                    [
                        (
                            time.time(),
                            "WARNING",
                            gettext("Stop requested by %(who)s.") % {"who": who},
                        )
                    ],
                    counted=False,
                )
                self.state = self.STATE_STOPPING
                return self.STATE_STOPPING
        return state or self.STATE_FINISHED

    def finish(
        self, result: str, reason: str = "", *, states: tuple[str, ...] = ACTIVE_STATES
    ) -> bool:
        """End the run with ``result``, once: return False if it had ended already.

        ``reason`` says why it ended (timed out, stopped, lost...) and becomes its last
        log line. Only a run in one of ``states`` is ended.
        """
        return self._end(lambda state: result if state in states else None, reason)

    def lost(self, reason: str) -> bool:
        """End a run whose process is gone: ``stopped`` if a stop was asked for, else ``failed``."""

        def decide(state: str) -> str | None:
            if state == self.STATE_STOPPING:
                return self.RESULT_STOPPED
            return self.RESULT_FAILED if state in self.ACTIVE_STATES else None

        return self._end(decide, reason)

    def _end(self, decide: Callable[[str], str | None], reason: str) -> bool:
        from eztaskmanager.signals import run_finished

        with transaction.atomic():
            task = Task.locked(self.task_id)
            current = (
                LaunchReport.objects.filter(pk=self.pk).values_list("state", flat=True).first()
            )
            result = decide(current) if current is not None and task is not None else None
            if result is None:
                logger.info(
                    "Run %s was not ended as %r (%s): it is %s.",
                    self.pk,
                    decide(self.STATE_RUNNING),
                    reason or "no reason given",
                    current or "gone",
                )
                return False
            if reason:
                level = "INFO" if result == self.RESULT_OK else "WARNING"
                write_log_rows(self.pk, [(time.time(), level, reason)], counted=False)
            now = timezone.now()
            LaunchReport.objects.filter(pk=self.pk, state=current).update(
                state=self.STATE_FINISHED,
                invocation_result=result,
                finished_at=now,
                reason=reason[:255],
            )
            self.refresh_from_db()
            self.task = task
            task.compute_cache()
            task.sync_status()
        # Outside the lock: receivers send notifications, which may take a while.
        run_finished.send(sender=LaunchReport, report=self)
        return True

    def discard(self) -> bool:
        """Delete a queued run whose job never reached the queue engine."""
        with transaction.atomic():
            task = Task.locked(self.task_id)
            deleted, _details = LaunchReport.objects.filter(
                pk=self.pk, state=self.STATE_QUEUED
            ).delete()
            if task is not None:
                task.sync_status()
        return bool(deleted)

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
