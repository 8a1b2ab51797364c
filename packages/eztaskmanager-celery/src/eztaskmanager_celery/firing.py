"""Fire one due time of a task on the beat: once, whatever the number of beats, and never lost.

In one transaction, under the task's row lock (:meth:`Task.locked`, which reads the task
afresh: a Stop or a re-schedule since the beat's read is seen here, and nothing runs):

1. **claim** the due time (a unique row per task and due time): of two beats, the second
   stops here;
2. **move the schedule on** to its next due time;
3. **record the run** as queued (its report), before it is published, so that Stop can
   take it off the queue; while a run of the task is still going on, the due time is
   skipped and that run's log says so.

Steps 1-3 are :meth:`Task.fire_due`, a handful of statements. Then, the transaction
committed:

4. **publish** the run, with a job id made of the due time;
5. a one-off's schedule ends (:meth:`Task.clear_schedule`).

If publishing fails (broker down), the run is discarded, the claim given back and the
schedule put back on that due time, all under the task's row lock and only if nobody
moved the schedule meanwhile: a later tick, of this beat or another, fires it then.
Claiming before publishing is what makes a due time fire once; giving the claim back
only after a publish that surely failed is what keeps it from being lost.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eztaskmanager.models import FiredDueTime, Task
from eztaskmanager_celery.timetable import (
    beat_job_id,
    due_time,
    is_on_beat,
    run_job_id,
)

if TYPE_CHECKING:
    from celery import Celery

    from eztaskmanager_celery.backend import CeleryBackend

logger = logging.getLogger(__name__)

# A claim this old whose due time is still the task's next run was not left by a beat
# firing right now: the schedule was armed again on a due time that had fired.
STALE_CLAIM = timedelta(seconds=60)


class Fired(str, enum.Enum):
    """What became of a due time the beat tried to fire."""

    SENT = "sent"  # published: its run is queued
    NOT_DUE = "not due"  # not yet, or no longer, due (read afresh)
    TAKEN = "taken"  # another beat claimed it first
    CANCELLED = "cancelled"  # the schedule was stopped or replaced meanwhile
    SKIPPED = "skipped"  # a run of the task was still going on
    RETRY = "retry"  # could not publish: given back for a later tick


@dataclass(frozen=True)
class Outcome:
    result: Fired
    due: datetime | None = None
    job_id: str = ""
    error: str = ""


def fire(task_id: int, now: datetime, backend: CeleryBackend, app: Celery | None = None) -> Outcome:
    """Fire the task's due time if it has come (see the module's docstring)."""
    handle = beat_job_id(task_id)
    with transaction.atomic():
        task = Task.locked(task_id)
        if task is None or not is_on_beat(task):
            return Outcome(Fired.CANCELLED)
        due = due_time(task, now)
        if due is None or due > now:
            return Outcome(Fired.NOT_DUE, due)
        following = task.next_run_after(max(due, now)) if task.is_periodic else None
        job_id = run_job_id(task.pk, due)
        timeout = backend.run_timeout(task)
        claimed, report = task.fire_due(due, handle, following, job_id, timeout)
    if not claimed:
        settle_stale_claim(task, due, now)
        return Outcome(Fired.TAKEN, due)
    if report is None:
        note_skipped(task, due)
        if not task.is_periodic:
            task.clear_schedule(handle)
        return Outcome(Fired.SKIPPED, due, job_id)
    try:
        backend.publish(task, job_id=job_id, app=app)
    except Exception as exc:  # broker down (TaskQueueException) or any other send error
        report.discard()
        give_back(task, due, following)
        return Outcome(Fired.RETRY, due, job_id, str(exc))
    if not task.is_periodic:
        task.clear_schedule(handle)
    return Outcome(Fired.SENT, due, job_id)


def note_skipped(task: Task, due: datetime) -> None:
    """Say in the log of the run that is still going on that a due time passed without a run."""
    run = task.active_runs().first()
    if run is None:
        return
    when = timezone.localtime(due).isoformat(sep=" ", timespec="seconds")
    run.append_log(
        "WARNING",
        _("A scheduled run due at %(due)s was skipped: this run was still going on.")
        % {"due": when},
    )


def give_back(task: Task, due: datetime, following: datetime | None) -> bool:
    """Undo a claim whose run could not be published, unless the schedule moved meanwhile."""
    handle = beat_job_id(task.pk)
    with transaction.atomic():
        fresh = Task.locked(task.pk)
        if fresh is None or not is_on_beat(fresh) or fresh.cached_next_ride != following:
            return False
        fresh.release_due(due)
        return fresh.advance_schedule(handle, handle, due)


def settle_stale_claim(task: Task, due: datetime, now: datetime) -> None:
    """Move on a schedule that waits for a due time fired long ago (else it waits for ever).

    Another beat firing this very due time holds its claim for a moment only; a claim
    older than :data:`STALE_CLAIM` means the schedule was armed again on a due time that
    had fired (a clock that went back), and the beat goes on to the next one.
    """
    fired_at = (
        FiredDueTime.objects.filter(task_id=task.pk, due_at=due)
        .values_list("fired_at", flat=True)
        .first()
    )
    # The real clock: ``fired_at`` was written with it, whatever ``now`` a test passes.
    if fired_at is None or timezone.now() - fired_at < STALE_CLAIM:
        return
    handle = beat_job_id(task.pk)
    following = task.next_run_after(max(due, now)) if task.is_periodic else None
    with transaction.atomic():
        fresh = Task.locked(task.pk)
        if fresh is None or not is_on_beat(fresh) or due_time(fresh, now) != due:
            return
        logger.warning(
            "eztaskmanager: task %s: its due time %s fired already (at %s); moving on.",
            task.pk,
            due.isoformat(),
            fired_at.isoformat(),
        )
        if task.is_periodic:
            fresh.advance_schedule(handle, handle, following)
        else:
            fresh.clear_schedule(handle)


# The beat's log line for each outcome (``%(task)s``, ``%(due)s``, ``%(job)s``, ``%(error)s``).
MESSAGES: dict[Fired, tuple[int, str]] = {
    Fired.SENT: (logging.INFO, "eztaskmanager: sent task %(task)s due at %(due)s as %(job)s"),
    Fired.SKIPPED: (
        logging.WARNING,
        "eztaskmanager: task %(task)s was still running at its due time %(due)s; skipped.",
    ),
    Fired.RETRY: (
        logging.ERROR,
        "eztaskmanager: could not send task %(task)s due at %(due)s, trying again: %(error)s",
    ),
    Fired.TAKEN: (
        logging.INFO,
        "eztaskmanager: task %(task)s due at %(due)s was fired by another beat.",
    ),
}


def log(task_id: int, outcome: Outcome) -> None:
    """Log what became of a due time (quietly when there was nothing to do)."""
    level, message = MESSAGES.get(
        outcome.result, (logging.DEBUG, "eztaskmanager: task %(task)s: %(result)s.")
    )
    logger.log(
        level,
        message,
        {
            "task": task_id,
            "due": outcome.due.isoformat() if outcome.due else "-",
            "job": outcome.job_id,
            "error": outcome.error,
            "result": outcome.result.value,
        },
    )
