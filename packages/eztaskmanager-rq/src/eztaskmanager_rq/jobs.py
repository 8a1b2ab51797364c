"""The functions RQ workers call: they hand the task to the core runner.

Referenced by dotted path in every job, so they must stay importable under these names.
They also work under plain ``rq worker`` (not django-rq's ``rqworker``) when
``DJANGO_SETTINGS_MODULE`` is set: such a worker imports this module before Django is set
up, so what needs Django is imported in the functions, once they have set it up.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import django
from django.apps import apps
from rq import get_current_job

from eztaskmanager_rq.occurrences import scheduled_at

if TYPE_CHECKING:
    from rq.job import Job

    from eztaskmanager.models import Task

logger = logging.getLogger(__name__)

# The dotted paths of the functions below, as jobs name them.
RUN_TASK = f"{__name__}.run_task"
RUN_FUNCTIONS = frozenset({RUN_TASK, f"{__name__}.run_scheduled_task"})


def run_task(task_id: int) -> int | None:
    """Run the run queued as this job; return the id of its report."""
    _setup_django()
    from eztaskmanager.services.runner import run_management_command, run_started
    from eztaskmanager_rq.headstart import NOTHING, STARTED, head_starts

    job = get_current_job()
    job_id = job.id if job else ""
    word = head_starts.take(job_id)
    if word is not None and word.said == STARTED:
        return run_started(word.report).pk
    if word is not None and word.said == NOTHING:
        return None
    report = run_management_command(task_id, job_id, worker=_worker_name(job) if job else "")
    return report.pk if report else None


def run_scheduled_task(task_id: int) -> int | None:
    """Run one due time of a task's schedule, after moving the schedule on to the next one.

    Only the job the task's ``scheduled_job_id`` names may run: a job left behind by a
    schedule that was since cancelled or replaced, or of a deleted task, is dropped. Its
    due time is claimed first: a due time that ran already (booked again after Redis
    lost it, say) is dropped too.
    """
    _setup_django()
    from eztaskmanager.models import Task
    from eztaskmanager.registry import get_backend
    from eztaskmanager.services import run_management_command
    from eztaskmanager_rq.backend import RQBackend

    job = get_current_job()
    if job is None:
        return None
    task = Task.objects.select_related("command").filter(pk=task_id).first()
    if task is None:
        logger.warning(
            "Task %s no longer exists; its scheduled job %s is dropped.", task_id, job.id
        )
        return None
    if task.scheduled_job_id != job.id:
        logger.warning(
            "Scheduled job %s of task %s (%s) was cancelled or replaced; it is dropped.",
            job.id,
            task,
            task_id,
        )
        return None
    claimed = claim_due_time(task, job)
    backend = get_backend()
    if isinstance(backend, RQBackend):
        moved_on = backend.continue_schedule(task, job)
    else:
        if task.is_periodic:
            logger.error("Task %s: the configured backend is not rq; its schedule ends.", task_id)
        moved_on = task.clear_schedule(job.id)
    if not moved_on or not claimed:
        return None
    report = run_management_command(task_id, job.id, worker=_worker_name(job))
    return report.pk if report else None


def claim_due_time(task: Task, job: Job) -> bool:
    """Claim the job's due time for this run; False if it was run already."""
    due = scheduled_at(job.meta)
    if due is None or task.claim_due(due):
        return True
    logger.warning(
        "Task %s: due time %s of job %s has run already; it is dropped.",
        task.pk,
        due.isoformat(),
        job.id,
    )
    return False


def _worker_name(job: Job) -> str:
    return job.worker_name or os.environ.get("RQ_WORKER_ID", "")


def _setup_django() -> None:
    if not apps.ready:
        django.setup()
