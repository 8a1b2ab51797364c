"""The queue backend interface (seed import path) and the function that returns the configured one.

A backend only translates between a queue engine and the core. The base class checks
every request in one place (the command is active, the task is not already running, the
backend can schedule) and keeps the task's status and schedule fields right; a backend
fills in a few small engine-specific methods.
"""

from __future__ import annotations

import abc
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.checks import CheckMessage
from django.utils.translation import gettext as _

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotRunnable, TaskQueueException
from eztaskmanager.moved import moved_classes
from eztaskmanager.registry import get_backend

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport, Task

# The seed's backend class names, and where they live now.
SEED_SERVICES = {
    "RQTaskQueueService": ("eztaskmanager_rq", "RQBackend", "rq"),
    "CeleryTaskQueueService": ("eztaskmanager_celery", "CeleryBackend", "celery"),
}

__all__ = [
    "TaskAlreadyRunning",
    "TaskNotRunnable",
    "TaskQueueException",
    "TaskQueueService",
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

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(
                f"{type(self).__name__} takes no options; got {', '.join(sorted(options))}."
            )

    # Public API, called by the admin and by users' code --------------------------------------
    def add(self, task: Task) -> None:
        """Start the task now, or schedule it (once or periodically) from its fields."""
        from eztaskmanager.models import Task

        self.validate(task)
        if task.is_scheduled_later():
            if not self.supports_schedule:
                raise TaskNotRunnable(
                    _("The %(backend)s backend cannot schedule tasks; clear the scheduling.")
                    % {"backend": type(self).__name__}
                )
            self.remove(task)
            task.scheduled_job_id = self.schedule(task)
            task.set_status(
                Task.STATUS_SCHEDULED,
                scheduled_job_id=task.scheduled_job_id,
                cached_next_ride=self.next_run(task),
            )
            return
        previous = task.status
        task.set_status(Task.STATUS_SPOOLED)
        try:
            self.enqueue(task)
        except Exception as exc:
            Task.objects.filter(pk=task.pk, status=Task.STATUS_SPOOLED).update(status=previous)
            task.status = previous
            if isinstance(exc, TaskQueueException):
                raise
            raise TaskQueueException(
                _("Could not start %(task)s: %(error)s") % {"task": task, "error": exc}
            ) from exc

    def remove(self, task: Task) -> None:
        """Cancel what is scheduled for the task; a run that has started goes on."""
        from eztaskmanager.models import Task

        if task.scheduled_job_id:
            self.unschedule(task)
        status = Task.STATUS_STARTED if task.status == Task.STATUS_STARTED else Task.STATUS_IDLE
        task.set_status(status, scheduled_job_id="", cached_next_ride=None)

    def stop(self, report: LaunchReport, by: str = "") -> None:
        """Stop a run that has started; its report ends ``stopped``."""
        from eztaskmanager.models import LaunchReport
        from eztaskmanager.services.runner import finish_run

        if not self.supports_stop:
            raise TaskQueueException(
                _("The %(backend)s backend cannot stop a running task.")
                % {"backend": type(self).__name__}
            )
        if not report.is_running:
            return
        try:
            self.stop_execution(report)
        except TaskQueueException:
            raise
        except Exception as exc:
            raise TaskQueueException(
                _("Could not stop %(task)s: %(error)s") % {"task": report.task, "error": exc}
            ) from exc
        report.append_log("WARNING", _("Stopped by %(who)s.") % {"who": by or _("a stop request")})
        finish_run(report, LaunchReport.RESULT_STOPPED)

    def stop_task(self, task: Task, by: str = "") -> None:
        """What the admin's Stop button does: stop a running run, then cancel the schedule.

        In this order, a run that cannot be stopped leaves the schedule as it was.
        """
        for report in task.launchreport_set.filter(finished_at=None):
            self.stop(report, by=by)
        task.refresh_from_db()
        self.remove(task)

    def next_run(self, task: Task) -> datetime | None:
        """When the engine will run the task next: ``None`` when nothing is scheduled.

        By default, what the task's fields say once a job is scheduled; a backend whose
        engine knows better (rq-scheduler's next time, say) reads it from there.
        """
        if not task.scheduled_job_id:
            return None
        return task.next_run_after()

    def check(self) -> list[CheckMessage]:
        """System check messages about this backend (engine reachable, options...)."""
        return []

    def validate(self, task: Task) -> None:
        """Refuse what cannot run: an inactive command, or a task already running."""
        from eztaskmanager.models import Task

        if not task.command.active:
            raise TaskNotRunnable(
                _("The command %(command)s is not active.") % {"command": task.command}
            )
        current = Task.objects.values_list("status", flat=True).get(pk=task.pk)
        if current == Task.STATUS_STARTED:
            raise TaskAlreadyRunning(_("%(task)s is already running.") % {"task": task})

    # Engine-specific parts ---------------------------------------------------------------------
    @abc.abstractmethod
    def enqueue(self, task: Task) -> None:
        """Hand the task to the engine to run as soon as possible."""

    def schedule(self, task: Task) -> str:
        """Schedule the task at ``task.next_run_after()`` (and periodically); return a job id."""
        raise NotImplementedError

    def unschedule(self, task: Task) -> None:
        """Cancel the job ``task.scheduled_job_id``."""
        raise NotImplementedError

    def stop_execution(self, report: LaunchReport) -> None:
        """Make the engine stop the run of ``report``."""
        raise NotImplementedError


__getattr__ = moved_classes(__name__, SEED_SERVICES, "backend")
