"""What this package relies on in rq, rq-scheduler and redis-py that differs between versions.

Written for rq >= 2 and tested with rq 3.0, rq-scheduler 0.14, django-rq 4.2 and redis-py 8.
Everything version-sensitive is imported or spelled here, so a new release needs one look
at one file.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from redis import ConnectionPool, Redis
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import SimpleWorker, Worker, WorkerStatus

try:  # rq 3
    from rq.exceptions import StopRequested
except ImportError:  # rq 2
    from rq.worker import StopRequested
from rq_scheduler import Scheduler

__all__ = [
    "HORSE_KILLED_HOOK",
    "JOB_DEQUEUED_HOOK",
    "SCHEDULED_JOBS_KEY",
    "STOPPED_JOB_HOOK",
    "WARM_STOP_HOOK",
    "InvalidJobOperation",
    "Job",
    "JobStatus",
    "NoSuchJobError",
    "Scheduler",
    "SimpleWorker",
    "StopRequested",
    "Worker",
    "WorkerStatus",
    "base_scheduler_class",
    "failure_text",
    "horse_end_text",
    "job_status",
    "quick_client",
    "scheduled_time",
    "send_stop_job_command",
]

# rq-scheduler keeps every scheduled job id in this sorted set, scored by its Unix time.
# It is a class attribute, not an API, in 0.14: read it from the class so a rename shows.
SCHEDULED_JOBS_KEY: str = Scheduler.scheduled_jobs_key

# The methods of rq's forking Worker that this package's worker extends. Neither is a
# documented API: rq 3 calls the first in the worker process when a work-horse ended
# without finishing its job, the second when a work-horse was killed by a stop command.
HORSE_KILLED_HOOK = "handle_work_horse_killed"
STOPPED_JOB_HOOK = "_handle_stopped_job"
# And of every worker: rq 2 and 3 call the first right after they dequeued a job (before
# the worker's last heartbeat and the job's run), the second on a warm stop.
JOB_DEQUEUED_HOOK = "reorder_queues"
WARM_STOP_HOOK = "_shutdown"


def base_scheduler_class() -> type[Scheduler]:
    """django-rq's scheduler (it applies ``RQ_QUEUES``' defaults to new jobs), else rq-scheduler's."""
    try:
        from django_rq.queues import DjangoScheduler
    except ImportError:  # django-rq without rq-scheduler support, or not installed
        return Scheduler
    return DjangoScheduler


def scheduled_time(connection: Redis, job_id: str) -> datetime | None:
    """When rq-scheduler will move ``job_id`` to its queue (aware, UTC), or ``None``.

    Read from the sorted set itself: rq-scheduler's ``get_jobs(with_times=True)`` returns
    naive datetimes and walks every scheduled job.
    """
    score = connection.zscore(SCHEDULED_JOBS_KEY, job_id)
    if score is None:
        return None
    return datetime.fromtimestamp(float(score), tz=timezone.utc)


def job_status(job: Job) -> str | None:
    """The job's status as a plain string; ``None`` when its hash has expired.

    ``Job.get_status()`` returns an enum in rq >= 2 and raises when the hash is gone.
    """
    try:
        status = job.get_status()
    except InvalidJobOperation:
        return None
    return getattr(status, "value", status)


def failure_text(job: Job) -> str:
    """The last line of what the job's latest failed or stopped execution left, or ``""``.

    rq 2+ keeps it in the job's results (``Result.exc_string``): a traceback, or the
    worker's own words ("Work-horse terminated unexpectedly; waitpid returned 9 (signal 9); ").
    """
    try:
        result = job.latest_result()
    except Exception:  # results of another serializer or version: the status says enough
        return ""
    text = (getattr(result, "exc_string", None) or "").strip().rstrip(";").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def horse_end_text(wait_status: int | None) -> str:
    """How a work-horse ended ("was killed (signal 9)"), from the status ``os.wait4()`` gave."""
    if wait_status is None:
        return "ended unexpectedly"
    if os.WIFSIGNALED(wait_status):
        return f"was killed (signal {os.WTERMSIG(wait_status)})"
    if os.WIFEXITED(wait_status):
        return f"exited with code {os.WEXITSTATUS(wait_status)}"
    return f"ended unexpectedly (wait status {wait_status})"


def quick_client(connection: Redis, timeout: float = 2.0) -> Redis:
    """A client to the same server that gives up after ``timeout`` seconds, for health checks.

    A client built by django-rq from ``RQ_QUEUES`` has no connect timeout: a ping to an
    unroutable host would hang a ``manage.py`` command for minutes.
    """
    pool = connection.connection_pool
    if type(pool) is not ConnectionPool:
        return connection  # Sentinel and cluster pools cannot be copied this simply.
    kwargs: dict[str, Any] = dict(pool.connection_kwargs)
    kwargs.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    kwargs.pop("retry", None)
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
