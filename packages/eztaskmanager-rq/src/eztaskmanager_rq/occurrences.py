"""Due times of a schedule, for the chain of one-off rq-scheduler jobs behind it.

Each run of a scheduled task is one rq-scheduler job for one *due time*; a periodic
task's job books its successor before running the command. The successor's due time
comes from the core's :mod:`eztaskmanager.scheduling` rules (wall clock for days, weeks
and months, months clamped to their length), so a schedule can be booked again from the
task's fields alone after Redis lost everything.

The due time travels in the job's ``meta`` (the job may be moved to the queue later
than that, e.g. when it was booked again after Redis lost it): the worker claims it
with :meth:`Task.claim_due <eztaskmanager.models.Task.claim_due>`, so each due time runs
once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eztaskmanager.models import Task

# Key of this package's entry in a job's ``meta``.
META_KEY = "eztaskmanager"


def schedule_job_id() -> str:
    """A new id for a schedule's job."""
    return f"eztm-{uuid.uuid4().hex}"


def whole_second(moment: datetime) -> datetime:
    """``moment`` without its fraction of a second: rq-scheduler keeps whole seconds."""
    return moment.replace(microsecond=0)


def occurrence_meta(task: Task, due: datetime) -> dict[str, Any]:
    """The ``meta`` of the job that runs ``task`` for ``due``."""
    return {META_KEY: {"task": task.pk, "at": due.timestamp()}}


def scheduled_at(meta: dict[str, Any]) -> datetime | None:
    """The due time a job's ``meta`` names."""
    at = (meta.get(META_KEY) or {}).get("at")
    return datetime.fromtimestamp(at, tz=timezone.utc) if at is not None else None


def following(task: Task, after: datetime) -> datetime | None:
    """The first due time of ``task`` whose whole second (rq-scheduler keeps whole
    seconds) is strictly after ``after``; ``None`` for a one-off schedule."""
    if not task.is_periodic:
        return None
    due = task.next_run_after(after)
    while due is not None and whole_second(due) <= after:
        due = task.next_run_after(due)
    return whole_second(due) if due is not None else None


def due_to_book_again(task: Task, now: datetime) -> datetime | None:
    """The due time to book for ``task`` whose job the engine lost; ``None``: nothing left.

    A periodic schedule goes on with its first due time after now (runs missed meanwhile
    are not caught up). A one-off keeps its own due time, past or not: the worker's claim
    drops it if it had fired already.
    """
    if task.is_periodic:
        return following(task, now)
    return whole_second(task.scheduling) if task.scheduling else None
