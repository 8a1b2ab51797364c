"""Due times of a schedule, for the chain of one-off rq-scheduler jobs behind it.

Each run of a scheduled task is one rq-scheduler job for one *due time*; a periodic
task's job books its successor before running the command. The successor's due time
comes from the core's :mod:`eztaskmanager.scheduling` rules (wall clock for days, weeks
and months, months clamped to their length), or from a fixed number of seconds for
schedules made with :meth:`~eztaskmanager_rq.backend.RQBackend.add_every`.

The due time travels in the job's ``meta`` (the job may be moved to the queue later
than that, e.g. when it was booked again after Redis lost it): the worker claims it
with :meth:`Task.claim_due <eztaskmanager.models.Task.claim_due>`, so each due time runs
once. A fixed period travels in the job's id too (``eztm-every5s-...``): the task's
``scheduled_job_id`` keeps it in the database, so the schedule can be booked again
from the database alone after Redis lost everything.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eztaskmanager.models import Task

# Key of this package's entry in a job's ``meta``.
META_KEY = "eztaskmanager"
_EVERY_ID = re.compile(r"eztm-every(\d+)s-")


def schedule_job_id(every: int | None = None) -> str:
    """A new id for a schedule's job; it carries ``every`` (seconds) when there is one."""
    prefix = f"eztm-every{int(every)}s-" if every else "eztm-"
    return prefix + uuid.uuid4().hex


def every_of(job_id: str) -> int | None:
    """The fixed period in seconds that the schedule job ``job_id`` carries, if any."""
    match = _EVERY_ID.match(job_id or "")
    return int(match.group(1)) if match else None


def whole_second(moment: datetime) -> datetime:
    """``moment`` without its fraction of a second: rq-scheduler keeps whole seconds."""
    return moment.replace(microsecond=0)


def occurrence_meta(task: Task, due: datetime, every: int | None) -> dict[str, Any]:
    """The ``meta`` of the job that runs ``task`` for ``due`` (``every``: fixed seconds, if any)."""
    return {META_KEY: {"task": task.pk, "at": due.timestamp(), "every": every}}


def scheduled_at(meta: dict[str, Any]) -> datetime | None:
    """The due time a job's ``meta`` names."""
    at = (meta.get(META_KEY) or {}).get("at")
    return datetime.fromtimestamp(at, tz=timezone.utc) if at is not None else None


def following(task: Task, meta: dict[str, Any], after: datetime) -> datetime | None:
    """The first due time of ``task`` strictly after ``after`` (whole seconds, as
    rq-scheduler keeps them); ``None`` for a one-off schedule."""
    info = meta.get(META_KEY) or {}
    every, at = info.get("every"), info.get("at")
    if every and at is not None:
        return whole_second(next_every(datetime.fromtimestamp(at, tz=timezone.utc), every, after))
    if task.is_periodic:
        return next_calendar_due(task, after)
    return None


def next_calendar_due(task: Task, after: datetime) -> datetime | None:
    """The task's first calendar run whose whole second is strictly after ``after``."""
    due = task.next_run_after(after)
    while due is not None and whole_second(due) <= after:
        due = task.next_run_after(due)
    return whole_second(due) if due is not None else None


def next_every(anchor: datetime, every: float, after: datetime) -> datetime:
    """The first of ``anchor + k * every`` (k >= 1) strictly after ``after``."""
    steps = max(math.floor((after - anchor).total_seconds() / every) + 1, 1)
    return anchor + timedelta(seconds=every * steps)


def due_to_book_again(task: Task, now: datetime) -> datetime | None:
    """The due time to book for ``task`` whose job the engine lost; ``None``: nothing left.

    A periodic schedule goes on with its first due time after now (runs missed meanwhile
    are not caught up). A one-off keeps its own due time, past or not: the worker's claim
    drops it if it had fired already.
    """
    every = every_of(task.scheduled_job_id)
    if every:
        anchor = task.cached_next_ride or now
        return anchor if anchor > now else whole_second(next_every(anchor, every, now))
    if task.is_periodic:
        return next_calendar_due(task, now)
    return whole_second(task.scheduling) if task.scheduling else None
