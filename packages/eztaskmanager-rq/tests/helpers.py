"""Run what RQ and rq-scheduler would run, in this process, with their own code."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timezone

from rq import SimpleWorker

from eztaskmanager_rq import compat


def run_worker(backend, worker_class: type | None = None):
    """Run every job of the backend's queue with this package's forking worker (or
    ``worker_class``), in this process, then return the worker: its work-horses are real
    forked processes."""
    from eztaskmanager_rq.worker import Worker

    worker = (worker_class or Worker)([backend.queue], connection=backend.connection)
    worker.work(burst=True)
    return worker


def work(backend) -> None:
    """Run every job of the backend's queue with a real (non-forking) RQ worker, then return."""
    worker = SimpleWorker([backend.queue], connection=backend.connection)
    worker.work(burst=True)


def fire(backend, job_id: str) -> None:
    """Make a scheduled job due and let rq-scheduler move it to its queue, as it would."""
    job = compat.Job.fetch(job_id, connection=backend.connection)
    backend.scheduler.change_execution_time(job, datetime.now(timezone.utc))
    backend.scheduler.enqueue_job(job)


def scheduled_ids(backend, task_id: int) -> list[str]:
    """Ids of the jobs in rq-scheduler's sorted set that would run ``task_id`` on this queue."""
    ids = []
    for raw in backend.connection.zrange(compat.SCHEDULED_JOBS_KEY, 0, -1):
        job_id = raw.decode()
        job = backend.fetch_job(job_id)
        if job is not None and job.origin == backend.queue_name and job.args == (task_id,):
            ids.append(job_id)
    return ids


def kill_myself() -> None:
    """A job whose work-horse dies as the out-of-memory killer would end it."""
    os.kill(os.getpid(), signal.SIGKILL)


def what_a_work_horse_inherits() -> dict:
    """How many of its worker's objects a work-horse leaves out of its garbage collections,
    and whether the run's reads come compiled for the connection handle it inherits."""
    import gc

    from django.db import connections

    from eztaskmanager.models.compiled import compiled_reads
    from eztaskmanager.models.run_lifecycle import run_reads

    handle = connections["default"]
    return {
        "frozen": gc.get_freeze_count(),
        "compiled": [read in compiled_reads(handle) for read in run_reads()],
    }


def fail() -> None:
    """A job that raises."""
    raise ValueError("boom")


def sleep_long() -> None:
    """A job that runs until it is stopped."""
    import time

    time.sleep(60)
