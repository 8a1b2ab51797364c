"""The functions RQ workers call: they hand the task to the core runner.

Referenced by dotted path in every job, so they must stay importable under these names.
They also work under plain ``rq worker`` (not django-rq's ``rqworker``) when
``DJANGO_SETTINGS_MODULE`` is set.
"""

from __future__ import annotations

import logging

from rq import get_current_job

logger = logging.getLogger(__name__)


def run_task(task_id: int) -> int | None:
    """Run a task that was started now; return the id of its report."""
    _setup_django()
    from eztaskmanager.services import run_management_command

    job = get_current_job()
    report = run_management_command(task_id, job_id=job.id if job else "")
    return report.pk if report else None


def run_scheduled_task(task_id: int) -> int | None:
    """Run a scheduled task, after scheduling its next run if it is periodic."""
    _setup_django()
    from eztaskmanager.services import run_management_command

    job = get_current_job()
    if job is None or not continue_schedule(task_id, job):
        return None
    report = run_management_command(task_id, job_id=job.id)
    return report.pk if report else None


def continue_schedule(task_id: int, job) -> bool:
    """Tell whether this scheduled job may run; for a periodic task, schedule the next run first.

    Only the job the task's ``scheduled_job_id`` names may run: a job left behind by a
    schedule that was since cancelled or replaced, or of a deleted task, is dropped.
    """
    from django.utils import timezone

    from eztaskmanager.models import Task
    from eztaskmanager.registry import get_backend
    from eztaskmanager_rq.backend import RQBackend
    from eztaskmanager_rq.occurrences import META_KEY, following, scheduled_at

    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        logger.warning(
            "Task %s no longer exists; its scheduled job %s is dropped.", task_id, job.id
        )
        return False
    if task.scheduled_job_id != job.id:
        logger.warning(
            "Scheduled job %s of task %s (%s) was cancelled or replaced; it is dropped.",
            job.id,
            task,
            task_id,
        )
        return False
    after = max(timezone.now(), scheduled_at(job.meta) or timezone.now())
    next_at = following(task, job.meta, after)
    if next_at is None:
        return True
    backend = get_backend()
    if not isinstance(backend, RQBackend):
        logger.error("Task %s: the configured backend is not rq; its schedule ends here.", task_id)
        return True
    every = (job.meta.get(META_KEY) or {}).get("every")
    successor = backend.schedule_at(task, next_at, every=every)
    # rq-scheduler keeps whole seconds; store what it will really do.
    moved = Task.objects.filter(pk=task_id, scheduled_job_id=job.id).update(
        scheduled_job_id=successor.id, cached_next_ride=next_at.replace(microsecond=0)
    )
    if not moved:
        # Cancelled or replaced while we scheduled: the successor must not run either.
        backend.cancel_job(successor.id)
        return False
    return True


def _setup_django() -> None:
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()
