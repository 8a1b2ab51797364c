"""When a task scheduled on Celery is due: the rules the backend and the beat share.

A task is on the beat when its ``scheduled_job_id`` is :func:`beat_job_id`. Its
``cached_next_ride`` (the next run the admin shows) is the next due time the beat fires:
the backend sets it when the task is scheduled, and the beat moves it on each time it
fires, so what the admin shows is what happens. The beat reads the tasks due before its
next tick (an index on the armed schedules' ``cached_next_ride``), never the whole
table. Which due times have fired is the
core's business (:meth:`~eztaskmanager.models.Task.claim_due`, a unique row per due
time), so a due time fires once however many beats run.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django.db.models import QuerySet

from eztaskmanager.models import Task
from eztaskmanager.services.engine import ScheduleHandle

BEAT_PREFIX = "beat:"


def beat_job_id(task_id: int) -> str:
    """The ``scheduled_job_id`` of a task whose schedule the beat runs."""
    return f"{BEAT_PREFIX}{task_id}"


def is_on_beat(task: Task | ScheduleHandle) -> bool:
    """Whether the beat runs this task's schedule (its fields may be stale in memory)."""
    return task.scheduled_job_id == beat_job_id(task.pk)


def run_job_id(task_id: int, due: datetime) -> str:
    """The Celery id of the run fired for one due time: the report shows which one it was.

    The same due time always gives the same id, so a run published twice by mistake
    (a send retried after an error that hid a success) finds its report already
    taken and does not run again.
    """
    return f"beat-{task_id}-{due.astimezone(dt_timezone.utc):%Y%m%dT%H%M%S.%fZ}"


def due_time(task: Task, now: datetime) -> datetime | None:
    """The due time the beat fires next for ``task``: its next run as the admin shows it.

    A task scheduled without one (by hand, or by an older release) falls back on its
    fields: a one-off on its scheduling (so a missed one still fires), a periodic task on
    its first due time after ``now``.
    """
    if task.cached_next_ride is not None:
        return task.cached_next_ride
    if not task.is_periodic:
        return task.scheduling
    return task.next_run_after(now)


def watched_tasks() -> QuerySet[Task]:
    """The tasks whose schedule the beat may run (check each with :func:`is_on_beat`).

    Armed schedules only, in the words of the index on their next run, so that it serves.
    """
    armed = Task.objects.exclude(scheduled_job_id="")
    return armed.filter(scheduled_job_id__startswith=BEAT_PREFIX).select_related("command")


def upcoming_tasks(limit: int, until: datetime) -> list[Task]:
    """The first ``limit`` tasks on the beat due by ``until`` by their stored next run,
    soonest first (one read by the index, of the few fields a tick looks at; the firing
    reads the task again under its lock)."""
    stored = watched_tasks().exclude(cached_next_ride=None).filter(cached_next_ride__lte=until)
    fields = ("pk", "scheduled_job_id", "cached_next_ride")
    return list(
        stored.select_related(None).only(*fields).order_by("cached_next_ride", "pk")[:limit]
    )


def unstamped_tasks() -> list[Task]:
    """The tasks on the beat without a stored next run (scheduled by an older release)."""
    return list(watched_tasks().filter(cached_next_ride=None).order_by("pk"))
