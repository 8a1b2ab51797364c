"""What this package relies on in rq, rq-scheduler and redis-py that differs between versions.

Written for rq >= 2 and tested with rq 3.0, rq-scheduler 0.14, django-rq 4.2 and redis-py 8. Everything version-sensitive
is imported or spelled here, so a new release needs one look at one file.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from redis import ConnectionPool, Redis
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq_scheduler import Scheduler

__all__ = [
    "SCHEDULED_JOBS_KEY",
    "InvalidJobOperation",
    "Job",
    "JobStatus",
    "NoSuchJobError",
    "Scheduler",
    "job_status",
    "quick_client",
    "scheduled_time",
    "send_stop_job_command",
]

# rq-scheduler keeps every scheduled job id in this sorted set, scored by its Unix time.
# It is a class attribute, not an API, in 0.14: read it from the class so a rename shows.
SCHEDULED_JOBS_KEY: str = Scheduler.scheduled_jobs_key


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
