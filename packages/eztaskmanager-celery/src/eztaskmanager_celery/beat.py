"""A Celery beat scheduler that reads eztaskmanager's ``Task`` table.

Run it with ``celery -A proj beat -S eztaskmanager_celery.beat:TaskScheduler``. Each tick
reads the scheduled tasks (at most every few seconds, so a change in the admin is seen
quickly), fires those whose due time has come, and sleeps until the next one. Which due
times are done lives in the database (:mod:`eztaskmanager_celery.timetable`), not in the
beat's memory: a restarted beat, or a second beat, never fires a due time twice. The
project's own ``beat_schedule`` entries keep working as with Celery's default scheduler.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from celery.beat import Scheduler
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)

# Longest sleep between ticks unless --max-interval or beat_max_loop_interval says otherwise.
DEFAULT_MAX_INTERVAL = 5
# Longest time a change in the Task table may go unseen.
MAX_RELOAD_EVERY = 5


class TaskScheduler(Scheduler):
    """Fire the runs of eztaskmanager's scheduled tasks, on top of the app's beat_schedule."""

    max_interval = DEFAULT_MAX_INTERVAL
    backend: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tasks: dict[int, Any] = {}
        self.loaded_at: float | None = None
        self.retry_at: dict[int, float] = {}
        super().__init__(*args, **kwargs)
        self.reload_every = min(self.max_interval, MAX_RELOAD_EVERY)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        self.backend = load_backend()
        logger.info(
            "eztaskmanager: firing scheduled tasks from the database (changes seen within %s s).",
            min(self.max_interval, MAX_RELOAD_EVERY),
        )

    @property
    def info(self) -> str:
        return "    . tasks -> eztaskmanager Task table"

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """One pass: the app's own entries, then eztaskmanager's; return the seconds to sleep."""
        wait = super().tick(*args, **kwargs)
        close_old_connections()
        try:
            task_wait = self.tick_tasks()
        except Exception:
            logger.exception(
                "eztaskmanager: cannot read the scheduled tasks (is the database up, and "
                "migrated with eztaskmanager_celery in INSTALLED_APPS?); trying again in %s s.",
                self.max_interval,
            )
            task_wait = self.max_interval
        finally:
            close_old_connections()
        return min(wait, task_wait)

    def tick_tasks(self, now: datetime | None = None) -> float:
        """Fire every task whose due time has come; return the seconds until the next event."""
        now = now or timezone.now()
        if self.loaded_at is None or time.monotonic() - self.loaded_at >= self.reload_every:
            self.reload()
        wait = max(self.reload_every - (time.monotonic() - self.loaded_at), 0.0)
        for task_id in list(self.tasks):
            due = self.due_time(task_id)
            if due is not None and due <= now and self.retry_at.get(task_id, 0) <= time.monotonic():
                self.fire(task_id, now)
                due = self.due_time(task_id)
            if due is None:
                continue
            if task_id in self.retry_at:
                wait = min(wait, max(self.retry_at[task_id] - time.monotonic(), 0.0))
            else:
                wait = min(wait, max((due - now).total_seconds(), 0.0))
        return wait

    def reload(self) -> None:
        """Read the scheduled tasks and their beat entries from the database."""
        from eztaskmanager_celery import timetable

        self.tasks = {task.pk: task for task in timetable.watched_tasks()}
        self.loaded_at = time.monotonic()
        self.retry_at = {pk: at for pk, at in self.retry_at.items() if pk in self.tasks}

    def due_time(self, task_id: int) -> datetime | None:
        """The task's next due time by the last reading (``None`` if it is not scheduled)."""
        from eztaskmanager_celery import timetable

        task = self.tasks.get(task_id)
        if task is None:
            return None
        entry = timetable.entry_of(task)
        if entry is None:
            return task.cached_next_ride or timezone.now()
        return timetable.next_due(task, entry.handled_until, self.backend.schedule_speedup)

    def fire(self, task_id: int, now: datetime) -> None:
        """Claim the due time in the database, then publish the run (or give the claim back)."""
        from eztaskmanager.exceptions import TaskQueueException
        from eztaskmanager_celery import timetable

        claim = timetable.claim_due(task_id, now, self.backend.schedule_speedup)
        self.refresh(task_id)
        if claim is None:
            return
        if not claim.send:
            logger.info(
                "eztaskmanager: task %s (%s) is still running at its due time %s; skipped.",
                claim.task.pk,
                claim.task,
                claim.due.isoformat(),
            )
            return
        job_id = run_job_id(task_id, claim.due)
        try:
            self.backend.publish(claim.task, job_id=job_id, app=self.app)
        except TaskQueueException as exc:
            timetable.release(claim, now)
            self.refresh(task_id)
            self.retry_at[task_id] = time.monotonic() + self.max_interval
            logger.error(
                "eztaskmanager: could not send task %s due at %s, trying again in %s s: %s",
                task_id,
                claim.due.isoformat(),
                self.max_interval,
                exc,
            )
            return
        self.retry_at.pop(task_id, None)
        logger.info(
            "eztaskmanager: sent task %s (%s) due at %s as %s",
            claim.task.pk,
            claim.task,
            claim.due.isoformat(),
            job_id,
        )

    def refresh(self, task_id: int) -> None:
        """Read one task again after firing it (it may have left the schedule)."""
        from eztaskmanager_celery import timetable

        task = timetable.watched_tasks().filter(pk=task_id).first()
        if task is None or not timetable.is_on_beat(task):
            self.tasks.pop(task_id, None)
        else:
            self.tasks[task_id] = task


def run_job_id(task_id: int, due: datetime) -> str:
    """The Celery id of the run fired for one due time: the report shows which one it was."""
    return f"beat-{task_id}-{due.astimezone(dt_timezone.utc):%Y%m%dT%H%M%S.%fZ}"


def load_backend() -> Any:
    """The configured eztaskmanager backend, which must be the Celery one."""
    from eztaskmanager.registry import get_backend
    from eztaskmanager_celery.backend import CeleryBackend

    backend = get_backend()
    if not isinstance(backend, CeleryBackend):
        raise ImproperlyConfigured(
            f'EZTASKMANAGER["BACKEND"] is {type(backend).__name__}, so no task is scheduled on '
            'Celery: set it to "celery" to use eztaskmanager_celery.beat:TaskScheduler.'
        )
    return backend
