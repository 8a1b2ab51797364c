"""When a task scheduled on Celery is due, and the database claims that fire each due time once.

The backend and the beat scheduler share these functions, so that the next run the admin
shows is the one the beat fires. A task is in the beat's schedule when its
``scheduled_job_id`` is :func:`beat_job_id` and its status is scheduled (or started, while
a run lasts). Its :class:`~eztaskmanager_celery.models.BeatEntry` says which due times are
done: the beat fires the first due time after ``handled_until`` once it has come, moving
``handled_until`` with an atomic conditional UPDATE (compare-and-set), so a due time fires
once whatever the number of beats and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from eztaskmanager.models import Task
from eztaskmanager_celery.models import BeatEntry

BEAT_PREFIX = "beat:"
MICROSECOND = timedelta(microseconds=1)
# Statuses of the tasks the beat watches: scheduled, or running one of its runs.
WATCHED_STATUSES = (Task.STATUS_SCHEDULED, Task.STATUS_STARTED)


def beat_job_id(task_id: int) -> str:
    """The ``scheduled_job_id`` of a task whose schedule the beat runs."""
    return f"{BEAT_PREFIX}{task_id}"


def is_on_beat(task: Task) -> bool:
    """Whether the beat runs this task's schedule (its fields may be stale in memory)."""
    return task.scheduled_job_id == beat_job_id(task.pk)


def next_due(task: Task, after: datetime, speedup: int = 1) -> datetime | None:
    """The first due time of ``task`` strictly after ``after``; ``None`` when there is none.

    ``speedup`` > 1 runs periodic schedules that many times faster (a minute lasts
    60/speedup seconds), for tests and demos: the instant is mapped onto the schedule's
    own time line, the core's :meth:`Task.next_run_after` picks the run, and the result is
    mapped back, so the scheduling rules are the real ones.
    """
    if task.scheduling is None:
        return None
    if not task.is_periodic:
        return task.scheduling if task.scheduling > after else None
    if speedup == 1 or after < task.scheduling:
        return task.next_run_after(after)
    start = task.scheduling
    virtual = task.next_run_after(start + (after - start) * speedup)
    elapsed = (virtual - start) // MICROSECOND
    # Rounding up keeps the result strictly after ``after``.
    return start + timedelta(microseconds=-(-elapsed // speedup))


def watched_tasks():
    """The tasks whose schedule the beat runs, with their beat entries."""
    return (
        Task.objects.filter(scheduled_job_id__startswith=BEAT_PREFIX, status__in=WATCHED_STATUSES)
        .select_related("celery_beat_entry", "command")
        .order_by("pk")
    )


def entry_of(task: Task) -> BeatEntry | None:
    """The task's beat entry, if it has one (``select_related`` or a query)."""
    try:
        return task.celery_beat_entry
    except BeatEntry.DoesNotExist:
        return None


def arm(task: Task, now: datetime | None = None) -> BeatEntry:
    """Make the beat start from ``now``: due times before it never fire (they are past).

    ``handled_until`` only moves forward, so re-scheduling a task never fires again a due
    time that a beat (maybe on a host whose clock runs ahead) already fired.
    """
    now = now or timezone.now()
    entry, created = BeatEntry.objects.get_or_create(task=task, defaults={"handled_until": now})
    if not created:
        BeatEntry.objects.filter(pk=task.pk, handled_until__lt=now).update(handled_until=now)
        entry.refresh_from_db()
    return entry


def ensure_entry(task: Task, now: datetime) -> BeatEntry:
    """The task's beat entry, created for a task scheduled without one (e.g. by a fixture).

    Such a task runs from its ``cached_next_ride`` if set (a missed one-off still fires),
    else from ``now``.
    """
    entry = entry_of(task)
    if entry is not None:
        return entry
    start = task.cached_next_ride - MICROSECOND if task.cached_next_ride else now
    try:
        with transaction.atomic():
            entry = BeatEntry.objects.create(task=task, handled_until=start)
    except IntegrityError:
        entry = BeatEntry.objects.get(pk=task.pk)
    task.celery_beat_entry = entry
    return entry


def next_run(task: Task, now: datetime | None = None, speedup: int = 1) -> datetime | None:
    """When the beat will fire the task next, read fresh from the database.

    A fired one-off has none (so the core's runner makes the task idle after its run); a
    periodic task has the first due time after now (and after what the beat did).
    """
    now = now or timezone.now()
    fresh = Task.objects.filter(pk=task.pk).select_related("celery_beat_entry").first()
    if fresh is None or not is_on_beat(fresh):
        return None
    entry = entry_of(fresh)
    handled = entry.handled_until if entry else now - MICROSECOND
    after = max(handled, now) if fresh.is_periodic else handled
    return next_due(fresh, after, speedup)


@dataclass(frozen=True)
class Claim:
    """A due time this process claimed: it must send the run, unless the task is running."""

    task: Task
    due: datetime
    previous: BeatEntry
    send: bool


def claim_due(task_id: int, now: datetime, speedup: int = 1) -> Claim | None:
    """Claim the task's due time if it has come; ``None`` if there is nothing to fire.

    Reads the task afresh (a Stop since the beat's last reload wins) and moves its
    ``handled_until`` to ``now`` only if nobody moved it meanwhile: of two beats, or of a
    beat and a re-scheduling, one wins. A task that is still running has its due time
    marked done without a run (runs of one task never overlap; the runner would skip it).
    """
    task = watched_tasks().filter(pk=task_id).first()
    if task is None or not is_on_beat(task):
        return None
    entry = ensure_entry(task, now)
    due = next_due(task, entry.handled_until, speedup)
    if due is None or due > now:
        return None
    send = task.status == Task.STATUS_SCHEDULED
    fields: dict = {"handled_until": now}
    if send:
        fields.update(last_due_at=due, last_run_at=now, total_run_count=F("total_run_count") + 1)
    won = BeatEntry.objects.filter(
        pk=task_id,
        handled_until=entry.handled_until,
        task__scheduled_job_id=beat_job_id(task_id),
        task__status__in=WATCHED_STATUSES,
    ).update(**fields)
    if not won:
        return None
    return Claim(task=task, due=due, previous=entry, send=send)


def release(claim: Claim, now: datetime) -> bool:
    """Give back a claimed due time that could not be sent, so that a later tick retries."""
    entry = claim.previous
    return bool(
        BeatEntry.objects.filter(pk=entry.pk, handled_until=now, last_due_at=claim.due).update(
            handled_until=entry.handled_until,
            last_due_at=entry.last_due_at,
            last_run_at=entry.last_run_at,
            total_run_count=entry.total_run_count,
        )
    )
