"""The run after this one, for the chain of one-off rq-scheduler jobs behind a periodic task.

Each run of a periodic task is one rq-scheduler job scheduled at an exact time; the job
schedules its successor before running the command. The successor's time comes from the
core's :mod:`eztaskmanager.scheduling` rules (wall clock for days, weeks and months,
months clamped to their length), or from a fixed number of seconds for schedules made
with :meth:`~eztaskmanager_rq.backend.RQBackend.add_every`. The metadata that travels in
each job's ``meta`` says which.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eztaskmanager.models import Task

# Key of this package's entry in a job's ``meta``.
META_KEY = "eztaskmanager"


def occurrence_meta(task: Task, at: datetime, every: float | None) -> dict[str, Any]:
    """The ``meta`` of the job that runs ``task`` at ``at`` (``every``: fixed seconds, if any)."""
    return {META_KEY: {"task": task.pk, "at": at.timestamp(), "every": every}}


def scheduled_at(meta: dict[str, Any]) -> datetime | None:
    """The time a job's ``meta`` says it was scheduled for."""
    at = (meta.get(META_KEY) or {}).get("at")
    return datetime.fromtimestamp(at, tz=timezone.utc) if at is not None else None


def following(task: Task, meta: dict[str, Any], after: datetime) -> datetime | None:
    """The first run of ``task`` strictly after ``after``; ``None`` for a one-off schedule."""
    info = meta.get(META_KEY) or {}
    every, at = info.get("every"), info.get("at")
    if every and at is not None:
        start = datetime.fromtimestamp(at, tz=timezone.utc)
        steps = max(math.floor((after - start).total_seconds() / every) + 1, 1)
        return start + timedelta(seconds=every * steps)
    if task.is_periodic:
        return task.next_run_after(after)
    return None
