"""The transitions of a run, each one a conditional UPDATE under its task's row lock.

A run's ``state`` goes ``queued`` -> ``running`` -> (``stopping`` ->) ``finished``, or
straight from ``queued`` to ``finished`` when it is stopped or lost before it starts.
Each transition names the states it leaves: the first final state wins, and a later one
(an orphaned process ending after its run was declared lost) changes nothing.

:class:`RunStarts` is a base class of ``LaunchReport.objects``' queryset and
:class:`RunLifecycle` one of :class:`~eztaskmanager.models.LaunchReport`: their methods
are theirs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from eztaskmanager.audit import STARTED
from eztaskmanager.conf import get_setting
from eztaskmanager.exceptions import TaskNotRunnable
from eztaskmanager.models.audit import AuditEvent
from eztaskmanager.models.compiled import (
    INT_MARKERS,
    STR_MARKERS,
    CompiledRead,
    compile_ahead,
    touch_row,
    update_rows,
    update_write,
)
from eztaskmanager.models.logs import (
    NO_LINES,
    LogColumns,
    insert_locked,
    level_counts,
    lines_write,
    write_log_rows,
)
from eztaskmanager.models.states import ACTIVE, QUEUED, RUNNING
from eztaskmanager.models.task_lifecycle import active_kinds, active_states_from
from eztaskmanager.models.tasks import Task
from eztaskmanager.models.writes import write_together
from eztaskmanager.origins import CHAIN, CODE, SCHEDULE
from eztaskmanager.permissions import may_run
from eztaskmanager.signals import run_finished

logger = logging.getLogger(__name__)

# finish(None): the run's result follows from its log counters (see finish()).
FROM_COUNTERS = "from counters"
# What the end of a run reads with its task's lock, for what follows it (services.aftermath).
END_FACTS = ("has_followers", "report_past_kept")


class RunBlocked(Exception):
    """A run cannot start because another run of the task has not ended (``report``)."""

    def __init__(self, report: models.Model) -> None:
        super().__init__(f"Run {report.pk} of task {report.task_id} has not ended.")
        self.report = report


def refuse_revoked_user(task: Task, report: models.Model) -> None:
    """Raise :class:`TaskNotRunnable` for a run that a schedule or a chain starts on behalf
    of a user who may no longer run the task (the permission rule, applied at its start)."""
    if report.origin not in (SCHEDULE, CHAIN) or report.started_by_id is None:
        return
    user = report.started_by
    if not may_run(user, task):
        raise TaskNotRunnable(
            gettext("%(user)s, on whose behalf it runs, may no longer run this task.")
            % {"user": user.get_username()}
        )


def _queued_run(using: str, task_id: int, job_id: str) -> models.QuerySet:
    """The run of ``task_id`` queued as ``job_id``, with its task (locked) and command."""
    reports = Task._meta.get_field("launchreport").related_model
    return (
        reports.objects.using(using)
        .select_related("task__command")
        .select_for_update(of=("task",))
        .filter(task_id=task_id, job_id=job_id)
    )


# start_run's read where the database locks through a join: compiled once per connection.
_QUEUED_RUN = CompiledRead(_queued_run, task_id=INT_MARKERS[0], job_id=STR_MARKERS[0])


def _run_locked(using: str, pk: int) -> models.QuerySet:
    """The run's row, locked: what its end reads again under its task's lock, with
    whether the task's other runs include a started one and a queued one (which no one
    changes while the lock is held)."""
    reports = Task._meta.get_field("launchreport").related_model
    others = reports._base_manager.filter(task=OuterRef("task")).exclude(pk=OuterRef("pk"))
    return (
        reports._base_manager.using(using)
        .select_for_update()
        .filter(pk=pk)
        .annotate(**active_kinds(others))
    )


# The end's read of its run (every run's): compiled once per connection.
_RUN_LOCKED = CompiledRead(_run_locked, pk=INT_MARKERS[0])


def run_reads() -> list[CompiledRead]:
    """The compiled reads of every run's start and end."""
    kept = get_setting("REPORTS_KEPT")
    return [
        _QUEUED_RUN,
        Task.locked_read(),
        Task.locked_read(*END_FACTS, kept=kept),
        _RUN_LOCKED,
        Task.active_kinds_read(),
    ]


def compile_run_reads(connection: BaseDatabaseWrapper) -> None:
    """Compile the reads of a run's start and end for ``connection`` ahead of its use
    (see :func:`~eztaskmanager.models.compiled.compile_ahead`)."""
    compile_ahead(connection, run_reads())


class RunStarts:
    """The start of a run: ``LaunchReport.objects.start_run()`` (the core runner's)."""

    def start_run(
        self,
        task_id: int,
        job_id: str = "",
        *,
        worker: str = "",
        pid: int | None = None,
        host_key: str = "",
        parent_pid: int | None = None,
        timeout_for: Callable[[Task], int | None] | None = None,
    ) -> models.Model | None:
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
            task, report = self._locked_with_run(task_id, job_id)
            if task is None:
                logger.warning("Task %s no longer exists; its job %s is dropped.", task_id, job_id)
                return None
            if report is not None and report.state != QUEUED:
                self._not_started(report, job_id)
                return None
            if report is None:
                blocking = task.active_runs().first()
                if blocking is not None:
                    raise RunBlocked(blocking)
                # A job with no queued run is a schedule's (or code's, without a job id).
                report = self.model.objects.create(
                    task=task,
                    state=QUEUED,
                    job_id=job_id or "",
                    origin=SCHEDULE if job_id else CODE,
                    started_by_id=task.scheduled_by_id if job_id else None,
                    **task.run_snapshot(),
                )
            expired = report.overstayed(task, now)
            if expired:
                report.finish(report.RESULT_FAILED, expired)
                return None
            try:
                task.refuse_inactive_command()
                refuse_revoked_user(task, report)
            except TaskNotRunnable as exc:
                report.finish(report.RESULT_FAILED, gettext("Not run: %(why)s") % {"why": exc})
                # The schedule would only fire more runs that fail so: it ends.
                ends_schedule = not task.command.active or report.origin == SCHEDULE
                if ends_schedule and task.clear_schedule():
                    logger.warning("Task %s: %s Its schedule ends.", task_id, exc)
                return None
            fields = {
                "state": RUNNING,
                "invocation_datetime": now,
                "heartbeat_at": now,
                "worker": worker[:255],
                "pid": pid,
                "host_key": host_key[:255],
                "parent_pid": parent_pid,
                "timeout": timeout_for(task) if timeout_for else task.timeout,
                # What the run runs: the task's command and arguments as they are now,
                # unless it was queued with arguments of its own ("Run now with...").
                **task.run_snapshot(),
            }
            if report.custom_arguments:
                del fields["arguments"]
            # The row carries the condition: a run stopped while this one waited for the
            # lock (its state read before the wait) is not started. This run is running
            # then: the task is started, whatever else is active (both in one statement).
            using = router.db_for_write(self.model)
            started, _status = write_together(
                using,
                [
                    update_write(
                        self.model, {"pk": report.pk, "state": QUEUED}, fields, using=using
                    ),
                    task.status_write({RUNNING}),
                ],
            )
            if not started:
                task.sync_status()  # as the runs are, this one not started
                report.refresh_from_db(fields=["state", "invocation_result"])
                self._not_started(report, job_id)
                return None
            for name, value in fields.items():
                setattr(report, name, value)
            report.task = task
        return report

    def _locked_with_run(
        self, task_id: int, job_id: str
    ) -> tuple[Task | None, models.Model | None]:
        """The task under its row lock, and its run queued as ``job_id`` (if any).

        One statement where the database can lock the task's row through a join (the run,
        its task and command read at once), or has no row locks (SQLite: the task's write
        lock is taken first); the run's state may have changed while the statement waited
        for the lock, which the caller's conditional UPDATE catches.
        """
        using = router.db_for_write(self.model)
        features = connections[using].features
        row_locks = features.has_select_for_update
        # Without row locks, the write lock stands for the task's, taken once, first.
        if not row_locks and not touch_row(Task, task_id, "status", using):
            return None, None
        if job_id and (features.has_select_for_update_of or not row_locks):
            report = _QUEUED_RUN.first(using, task_id=task_id, job_id=job_id)
            if report is not None:
                return report.task, report
        task = Task.locked_read().first(using, pk=task_id)
        if task is None or not job_id:
            return task, None
        return task, task.launchreport_set.filter(job_id=job_id).first()

    @staticmethod
    def _not_started(report: models.Model, job_id: str) -> None:
        logger.warning(
            "Run %s of task %s (job %s) ended before it started (%s); not run.",
            report.pk,
            report.task_id,
            job_id,
            report.invocation_result or report.state,
        )


class RunLifecycle:
    """The transitions of :class:`~eztaskmanager.models.LaunchReport` after its start."""

    def heartbeat(self, progress: dict | None = None) -> str:
        """Record that the run's process is alive, and its ``progress`` if given; return the
        run's state.

        One UPDATE while the run goes on. Anything but ``running`` tells the run to end:
        ``stopping`` (a stop was asked for) or ``finished`` (it was declared lost, or the
        task was deleted).
        """
        fields: dict = {"heartbeat_at": timezone.now()}
        if progress is not None:
            fields["progress"] = progress
        for state in self.RUNNING_STATES:
            if update_rows(type(self), {"pk": self.pk, "state": state}, fields):
                return state
        return self.STATE_FINISHED

    def seconds_waiting(self, now: datetime) -> float:
        """How long this queued run has waited for a worker, from when it was due."""
        return (
            now - (self.not_before or self.queued_at or self.invocation_datetime)
        ).total_seconds()

    def overstayed(self, task: Task, now: datetime) -> str:
        """Why this queued run may no longer start: it waited for a worker longer than its
        task's time to live (from when it was due); empty while it may."""
        if not task.queued_ttl or self.state != self.STATE_QUEUED:
            return ""
        waited = self.seconds_waiting(now)
        if waited <= task.queued_ttl:
            return ""
        return gettext(
            "Not run: it waited %(waited)d s for a worker, longer than its time to live "
            "(%(ttl)d s)."
        ) % {"waited": waited, "ttl": task.queued_ttl}

    def request_stop(self, by: str = "") -> str:
        """Ask the run to stop; return its state afterwards.

        A queued run ends ``stopped`` at once (its worker will not start it); a running
        one becomes ``stopping`` until its process has stopped.
        """
        who = by or gettext("a stop request")
        with transaction.atomic():
            if Task.locked(self.task_id) is None:
                return self.STATE_FINISHED
            state = type(self).objects.filter(pk=self.pk).values_list("state", flat=True).first()
            if state == self.STATE_QUEUED:
                self.finish(
                    self.RESULT_STOPPED,
                    gettext("Stopped by %(who)s before it started.") % {"who": who},
                    states=(self.STATE_QUEUED,),
                )
                return self.STATE_FINISHED
            if state == self.STATE_RUNNING:
                type(self).objects.filter(pk=self.pk, state=self.STATE_RUNNING).update(
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
        self,
        result: str | None,
        reason: str = "",
        *,
        states: tuple[str, ...] = ACTIVE,
        progress: dict | None = None,
        lines: LogColumns = NO_LINES,
    ) -> bool:
        """End the run with ``result``, once: return False if it had ended already.

        ``result`` ``None`` means "as its log says": ``errors``, ``warnings`` or ``ok``
        from its counters once its last line is written. ``reason`` says why it ended
        (timed out, stopped, lost...) and becomes its last log line. Only a run in one of
        ``states`` is ended. ``progress``: its last bars, stored in the same UPDATE.
        ``lines``: its last log lines (the runner's), written and counted with its end,
        and dropped with it if the run had ended already.
        """
        outcome = FROM_COUNTERS if result is None else result
        return self._end(
            lambda state: outcome if state in states else None, reason, progress, lines
        )

    def lost(self, reason: str) -> bool:
        """End a run whose process is gone: ``stopped`` if a stop was asked for, else ``failed``."""

        def decide(state: str) -> str | None:
            if state == self.STATE_STOPPING:
                return self.RESULT_STOPPED
            return self.RESULT_FAILED if state in self.ACTIVE_STATES else None

        return self._end(decide, reason)

    def _end(
        self,
        decide: Callable[[str], str | None],
        reason: str,
        progress: dict | None = None,
        lines: LogColumns = NO_LINES,
    ) -> bool:
        """End the run as ``decide(its state)`` says, under its task's lock.

        In one transaction: the task locked (with what follows the end needs to know of
        it); the run read and locked (its state and counters, and what the task's other
        runs are doing); then its last lines and the reason's, the run's UPDATE (its end
        and its counters) and the task's (its status and last-run figures), written
        together: one statement on PostgreSQL, unless the lines are many.
        """
        using = router.db_for_write(type(self))
        with transaction.atomic(using=using):
            # With the lock, what follows the end (services.aftermath) needs to know.
            task = Task.locked(self.task_id, *END_FACTS, kept=get_setting("REPORTS_KEPT"))
            current, others = self._reread() if task is not None else (None, set())
            result = decide(current) if current is not None else None
            if result is None:
                logger.info(
                    "Run %s was not ended as %r (%s): it is %s; %d log lines dropped.",
                    self.pk,
                    decide(self.STATE_RUNNING),
                    reason or "no reason given",
                    current or "gone",
                    len(lines.levels),
                )
                return False
            errors, warnings = level_counts(lines.levels)
            self.n_log_errors += errors
            self.n_log_warnings += warnings
            if result == FROM_COUNTERS:
                result = self.result_from_counters()
            if reason:
                level = "INFO" if result == self.RESULT_OK else "WARNING"
                lines = LogColumns(
                    [*lines.created, time.time()],
                    [*lines.levels, level],
                    [*lines.messages, reason],
                )
            writes = []
            if lines.levels:
                few = lines_write(self.pk, self.n_log_lines, lines)
                if few is None:
                    insert_locked(self.pk, self.n_log_lines, lines)
                else:
                    writes.append(few)
            fields = {
                "state": self.STATE_FINISHED,
                "invocation_result": result,
                "finished_at": timezone.now(),
                "reason": reason[:255],
            }
            if progress is not None:
                fields["progress"] = progress
            counted = {
                "n_log_lines": len(lines.levels),
                "n_log_errors": errors,
                "n_log_warnings": warnings,
            }
            writes.append(
                update_write(type(self), {"pk": self.pk, "state": current}, fields, counted, using)
            )
            self.n_log_lines += len(lines.levels)
            for name, value in fields.items():
                setattr(self, name, value)
            self.task = task
            writes.append(task.end_write(self, others))
            write_together(using, writes)
        # Outside the lock: receivers send notifications, which may take a while.
        run_finished.send(sender=type(self), report=self)
        return True

    def _reread(self) -> tuple[str | None, set[str]]:
        """Read the run's row again, and lock it (under the task's lock): no batch of lines
        is numbered meanwhile. Return its state (``None`` if gone), and the states among
        the task's other runs that have not ended (``running`` standing for started).

        As ``refresh_from_db()`` would, but through a read compiled once: a related object
        whose key changed is forgotten by its field's descriptor."""
        fresh = _RUN_LOCKED.first(router.db_for_write(type(self)), pk=self.pk)
        if fresh is None:
            return None, set()
        for model_field in self._meta.concrete_fields:
            setattr(self, model_field.attname, getattr(fresh, model_field.attname))
        return self.state, active_states_from(fresh.has_started, fresh.has_queued)

    def discard(self) -> bool:
        """Delete a queued run whose job never reached the queue engine, and the audit
        trail's record of its start: it did not start."""
        with transaction.atomic():
            task = Task.locked(self.task_id)
            AuditEvent.objects.filter(
                report=self.pk, report__state=self.STATE_QUEUED, action=STARTED
            ).delete()
            deleted, _details = (
                type(self).objects.filter(pk=self.pk, state=self.STATE_QUEUED).delete()
            )
            if task is not None:
                task.sync_status()
        return bool(deleted)
