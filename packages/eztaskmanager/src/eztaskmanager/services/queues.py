"""The queue backend interface (seed import path) and the function that returns the configured one.

A backend only translates between a queue engine and the core: it hands a run to the
engine (``enqueue``), books and cancels schedules (``schedule``, ``unschedule``), asks the
engine to kill a run (``stop_execution``) and answers questions about jobs
(``job_state``). The base class holds the policies (what may start, what a Stop does)
and changes a task's or run's state only through the models' transition methods.
"""

from __future__ import annotations

import abc
import logging
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.checks import CheckMessage
from django.utils.translation import gettext as _

from eztaskmanager import audit, origins
from eztaskmanager.audit import SCHEDULED, STOPPED, UNSCHEDULED
from eztaskmanager.exceptions import (
    TaskAlreadyRunning,
    TaskNotRunnable,
    TaskNotStoppable,
    TaskQueueException,
)
from eztaskmanager.moved import moved_classes
from eztaskmanager.options import read_options
from eztaskmanager.origins import Origin, as_origin
from eztaskmanager.permissions import check_run
from eztaskmanager.registry import get_backend
from eztaskmanager.services.engine import (
    JobInfo,
    JobState,
    ScheduleHandle,
    StopOutcome,
    engine_errors,
)
from eztaskmanager.services.liveness import reap_run

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport, Task

logger = logging.getLogger(__name__)

# The seed's backend class names, and where they live now.
SEED_SERVICES = {
    "RQTaskQueueService": ("eztaskmanager_rq", "RQBackend", "rq"),
    "CeleryTaskQueueService": ("eztaskmanager_celery", "CeleryBackend", "celery"),
}
# How long stop() lets a running run stop by itself (its heartbeat comes every second)
# before it asks the engine to kill it, then how long it waits before answering "stopping".
COOPERATIVE_STOP_SECONDS = 2.0
STOP_WAIT_SECONDS = 2.0

__all__ = [
    "JobInfo",
    "JobState",
    "ScheduleHandle",
    "StopOutcome",
    "TaskAlreadyRunning",
    "TaskNotRunnable",
    "TaskQueueException",
    "TaskQueueService",
    "engine_errors",
    "get_task_service",
]


def get_task_service() -> TaskQueueService:
    """Return the queue backend configured in ``settings.EZTASKMANAGER``."""
    return get_backend()


class TaskQueueService(abc.ABC):
    """Base class of queue backends: ``add``, ``remove``, ``stop``, ``next_run``, ``check``."""

    # Can run a task at a future time, once or periodically.
    supports_schedule: bool = False
    # Can stop a run that has started.
    supports_stop: bool = False
    # The longest run timeout the engine accepts, in seconds; None: no limit of its own.
    max_timeout: int | None = None

    def __init__(self, **options: Any) -> None:
        read_options(type(self).__name__, {}, options)

    # Public API, called by the admin and by users' code --------------------------------------
    def add(self, task: Task, by: Origin | None = None) -> LaunchReport | None:
        """Start the task now (return its queued run), or schedule it (once or periodically).

        ``by``: who starts it (default: code). A user must be allowed to run the task
        (:mod:`eztaskmanager.permissions`); a schedule's runs are started on behalf of
        the user who armed it. Raises :class:`TaskAlreadyRunning` while a run of the task
        is queued or going on, :class:`TaskNotRunnable` for what cannot run
        (:class:`~eztaskmanager.exceptions.TaskNotAllowed` for a user who may not run
        it), and :class:`TaskQueueException` when the engine cannot be reached; the task
        is then left as it was.
        """
        origin = as_origin(by)
        self.validate(task, origin)
        if task.is_scheduled_later():
            if not self.supports_schedule:
                raise TaskNotRunnable(
                    _("The %(backend)s backend cannot schedule tasks; clear the scheduling.")
                    % {"backend": type(self).__name__}
                )
            self.refuse_blocked(task)
            self.remove(task)
            # Armed before the engine books it: a run due at once finds itself named.
            handle = self.new_schedule_id(task)
            task.arm_schedule(handle, task.next_run_after(), by=origin)
            try:
                with engine_errors(_("schedule %(task)s") % {"task": task}):
                    self.schedule(task)
                    next_ride = self.next_run(task)
            except BaseException:
                task.clear_schedule(handle)
                raise
            if next_ride != task.cached_next_ride:
                task.advance_schedule(handle, handle, next_ride)
            audit.record(SCHEDULED, task, origin)
            return None
        return self._queue(task, origin=origin, audit_detail="")

    def run_once(
        self,
        task: Task,
        arguments: str | None = None,
        note: str = "",
        by: Origin | None = None,
    ) -> LaunchReport:
        """Start one run now ("Run now with...", a chain), with ``arguments`` instead of the task's.

        The task and its schedule stay as they are; the report records the arguments it
        ran with, and ``note`` as its first line (why it started). Raises
        :class:`~eztaskmanager.arguments.InvalidArguments` for arguments the command's
        parser refuses, and what :meth:`add` raises otherwise.
        """
        origin = as_origin(by)
        self.validate(task, origin)
        if arguments is not None:
            task.check_arguments(arguments)
        detail = (
            ""
            if arguments is None
            else _("With other arguments: %(arguments)s") % {"arguments": arguments}
        )
        return self._queue(task, arguments, note, origin=origin, audit_detail=detail)

    def retry(self, failed: LaunchReport, when: datetime) -> LaunchReport:
        """Queue the next attempt of the failed run ``failed``, due at ``when``.

        Raises :class:`TaskNotRunnable` when the engine cannot run a job later, and
        :class:`TaskAlreadyRunning` when another run of the task is queued or going on.
        """
        if not self.supports_schedule:
            raise TaskNotRunnable(
                _("The %(backend)s backend cannot run a retry later.")
                % {"backend": type(self).__name__}
            )
        task = failed.task
        note = _("Attempt %(attempt)d of %(attempts)d, after attempt %(failed)d failed.") % {
            "attempt": failed.attempt + 1,
            "attempts": task.retries + 1,
            "failed": failed.attempt,
        }
        origin = Origin(origins.RETRY, failed.started_by)
        return self._queue(task, note=note, retry_of=failed, when=when, origin=origin)

    def _queue(
        self,
        task: Task,
        arguments: str | None = None,
        note: str = "",
        retry_of: LaunchReport | None = None,
        when: datetime | None = None,
        origin: Origin | None = None,
        audit_detail: str | None = None,
    ) -> LaunchReport:
        """Record a queued run (with its own ``arguments`` and first line, if given, and
        its start in the audit trail with ``audit_detail``, all in one transaction) and
        hand it to the engine: now, or at ``when`` (a retry of ``retry_of``)."""

        def queue_run() -> LaunchReport:
            return task.queue_run(
                self.new_job_id(),
                timeout=self.run_timeout(task),
                retry_of=retry_of,
                not_before=when,
                by=origin,
                arguments=arguments,
                note=note,
                audit_detail=audit_detail,
            )

        try:
            report = queue_run()
        except TaskAlreadyRunning:
            # Refused under the lock; a blocking run whose process is gone ends (lost), and
            # the start is tried once more. Nothing is read ahead of the lock otherwise.
            self.refuse_blocked(task)
            report = queue_run()
        try:
            if when is None:
                with engine_errors(_("start %(task)s") % {"task": task}):
                    self.enqueue(task, report.job_id)
            else:
                with engine_errors(_("retry %(task)s") % {"task": task}):
                    self.enqueue_at(task, report.job_id, when)
        except BaseException:
            report.discard()
            task.refresh_from_db(fields=["status"])
            raise
        return report

    def remove(self, task: Task) -> None:
        """Cancel what is scheduled for the task; a run that has started goes on."""
        job_id = task.stored_schedule()
        if job_id:
            task.scheduled_job_id = job_id
            with engine_errors(_("cancel the schedule of %(task)s") % {"task": task}):
                self.unschedule(task)
        task.clear_schedule(job_id if job_id else None)

    def stop(self, report: LaunchReport, by: Origin | str = "") -> str:
        """Stop a run; return its state afterwards (``finished``, or ``stopping`` for a while).

        A queued run ends ``stopped`` at once and its job is taken off the queue. A running
        one is asked to stop: its own helper thread ends it within about a second, and the
        engine is asked to kill it too where it can; its report says ``stopped`` once it has
        stopped. A run whose worker is gone ends at once. ``by``: who stops it (a user
        must be allowed to run its task); a name, for code.
        """
        origin = as_origin(by)
        if origin.user is not None:
            check_run(origin.user, report.task)
        if not self.supports_stop and report.state != report.STATE_QUEUED:
            raise TaskNotStoppable(
                _("The %(backend)s backend cannot stop a running task.")
                % {"backend": type(self).__name__}
            )
        state = report.request_stop(str(origin) if by else "")
        audit.record(STOPPED, report.task, origin, report)
        if state == report.STATE_FINISHED:
            if report.job_id:
                try:
                    self.cancel(report.job_id)
                except Exception:  # the run is ended: a worker that gets the job drops it
                    logger.warning(
                        "Could not take job %s off the queue", report.job_id, exc_info=True
                    )
            return state
        if state != report.STATE_STOPPING:
            return state
        # The run's own helper thread stops it within a heartbeat, writing its last lines;
        # only a run that has not stopped by then is killed by the engine.
        if self._wait_until_finished(report, COOPERATIVE_STOP_SECONDS):
            return report.state
        try:
            self.stop_execution(report)
        except Exception as exc:
            logger.warning("The engine could not stop run %s: %s", report.pk, exc)
        if self._wait_until_finished(report, STOP_WAIT_SECONDS):
            return report.state
        reap_run(report, self)
        report.refresh_from_db(fields=["state", "invocation_result", "finished_at"])
        return report.state

    @staticmethod
    def _wait_until_finished(report: LaunchReport, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            report.refresh_from_db(fields=["state", "invocation_result", "finished_at"])
            if report.state == report.STATE_FINISHED:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def stop_task(self, task: Task, by: Origin | str = "") -> StopOutcome:
        """What the admin's Stop button does: stop the task's runs, then cancel its schedule.

        In this order, a run that cannot be stopped leaves the schedule as it was.
        """
        origin = as_origin(by)
        if origin.user is not None:
            check_run(origin.user, task)
        outcome = StopOutcome()
        for report in task.active_runs():
            if self.stop(report, by=by) == report.STATE_FINISHED:
                outcome.stopped += 1
            else:
                outcome.stopping += 1
        task.refresh_from_db()
        if task.scheduled_job_id:
            self.remove(task)
            outcome.unscheduled = True
            audit.record(UNSCHEDULED, task, origin)
        return outcome

    def next_run(self, task: Task) -> datetime | None:
        """When the engine will run the task next: ``None`` when nothing is scheduled.

        By default, what the task's fields say once a job is scheduled; a backend whose
        engine knows better (rq-scheduler's next time, say) reads it from there.
        """
        if not task.scheduled_job_id:
            return None
        return task.next_run_after()

    # The backend's default run timeout in seconds (None: runs may last for ever).
    default_timeout: int | None = None

    def run_timeout(self, task: Task) -> int | None:
        """Seconds a run of ``task`` may last: the task's own timeout, else the backend's.

        The one precedence rule of timeouts: the runner gives a run what this says.
        """
        return task.timeout or self.default_timeout

    def refuse_timeout(self, timeout: int | None) -> None:
        """Raise :class:`TaskNotRunnable` for a timeout longer than the engine allows."""
        if timeout and self.max_timeout and timeout > self.max_timeout:
            raise TaskNotRunnable(
                _(
                    "A timeout of %(timeout)d s is more than the %(backend)s backend allows (%(max)d s)."
                )
                % {"timeout": timeout, "backend": type(self).__name__, "max": self.max_timeout}
            )

    def queue_names(self) -> list[str]:
        """The queues a task may name, the backend's default first; empty: no list.

        A backend without a list (the default) takes a task's queue as it is and hands it
        to its engine; one with a list refuses to start a task whose queue it lacks.
        """
        return []

    def refuse_unknown_queue(self, task: Task) -> None:
        """Raise :class:`TaskNotRunnable` for a task whose queue the backend does not have."""
        names = self.queue_names()
        if task.queue and names and task.queue not in names:
            raise TaskNotRunnable(
                _(
                    "%(task)s runs on the queue '%(queue)s', which the %(backend)s backend "
                    "does not have; choose one of: %(names)s (empty: the default queue)."
                )
                % {
                    "task": task,
                    "queue": task.queue,
                    "backend": type(self).__name__,
                    "names": ", ".join(names),
                }
            )

    def check(self) -> list[CheckMessage]:
        """System check messages about this backend (engine reachable, options...)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional: a backend that holds nothing open
        """Let go of the engine's connections; called when the settings change."""

    def validate(self, task: Task, by: Origin | None = None) -> None:
        """Refuse what cannot run: a user who may not run it, an inactive command, an
        unknown queue, a timeout too long.

        A task already running is refused when its run is queued (under the task's lock),
        or before a schedule is armed (:meth:`refuse_blocked`).
        """
        if by is not None and by.user is not None:
            check_run(by.user, task)
        task.refuse_inactive_command()
        self.refuse_unknown_queue(task)
        self.refuse_timeout(self.run_timeout(task))

    def refuse_blocked(self, task: Task) -> None:
        """Raise :class:`TaskAlreadyRunning` while a run of the task is queued or going on.

        A run that blocks the task but whose process is gone is ended first (lost).
        """
        if [report for report in task.active_runs() if not reap_run(report, self, refresh=False)]:
            task.refuse_second_run()

    # Engine-specific parts ---------------------------------------------------------------------
    def new_job_id(self) -> str:
        """The id the engine's job for a new run will have (known before it is queued)."""
        return uuid.uuid4().hex

    @abc.abstractmethod
    def enqueue(self, task: Task, job_id: str) -> None:
        """Hand the task to the engine to run as soon as possible, as job ``job_id``."""

    def enqueue_at(self, task: Task, job_id: str, when: datetime) -> None:
        """Hand the task to the engine to run at ``when``, as job ``job_id`` (a retry)."""
        raise NotImplementedError

    def new_schedule_id(self, task: Task) -> str:
        """The handle a new schedule of ``task`` will have in the engine (known before it is booked)."""
        return uuid.uuid4().hex

    def schedule(self, task: Task) -> None:
        """Book the schedule ``task.scheduled_job_id``: runs from ``task.next_run_after()`` on."""
        raise NotImplementedError

    def unschedule(self, task: Task) -> None:
        """Cancel the schedule ``task.scheduled_job_id``."""
        raise NotImplementedError

    def cancel(self, job_id: str) -> None:  # noqa: B027 - optional: engines that cannot, don't
        """Take a queued job off the queue, if the engine can (its run is already ended)."""

    def stop_execution(self, report: LaunchReport) -> None:  # noqa: B027 - as cancel()
        """Ask the engine to kill the run of ``report``, if it can (its own thread stops it anyway)."""

    def job_state(self, job_id: str) -> JobInfo:
        """What the engine knows of the job ``job_id``; by default, nothing."""
        return JobInfo(JobState.UNKNOWN)

    def lost_schedules(self, tasks: list[ScheduleHandle]) -> list[ScheduleHandle]:
        """Those of the scheduled ``tasks`` (each its ``pk`` and ``scheduled_job_id``) whose
        schedule the engine no longer holds."""
        return []

    def rearm(self, task: Task) -> None:
        """Book the schedule of ``task`` again after the engine lost it (see ``resync``)."""
        self.remove(task)
        self.add(task)


__getattr__ = moved_classes(__name__, SEED_SERVICES, "backend")
