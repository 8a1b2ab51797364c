"""A Celery beat scheduler that reads eztaskmanager's ``Task`` table.

Run it with ``celery -A proj beat -S eztaskmanager_celery.beat:TaskScheduler``. Each tick
reads the scheduled tasks (at most every few seconds, so a change in the admin is seen
quickly), fires those whose due time has come (:mod:`eztaskmanager_celery.firing`), and
sleeps until the next one. The database says which due times have fired, not the beat's
memory: a restarted beat, or a second one, never fires a due time twice. On its ticks the
beat also records that it is alive and ends the runs whose worker is gone (the core's
recovery), so a whole worker killed mid-run does not leave its run "running" for ever.
The project's own ``beat_schedule`` entries keep working as with Celery's default
scheduler.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime
from typing import Any

from celery.beat import Scheduler
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils import timezone

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.registry import get_backend
from eztaskmanager.services.lookout import Lookout
from eztaskmanager_celery import firing
from eztaskmanager_celery.backend import BACKEND_NAME, CeleryBackend
from eztaskmanager_celery.timetable import due_time, is_on_beat, watched_tasks

logger = logging.getLogger(__name__)

# Longest sleep between ticks unless --max-interval or beat_max_loop_interval says otherwise.
DEFAULT_MAX_INTERVAL = 5
# Longest time a change in the Task table may go unseen.
MAX_RELOAD_EVERY = 5
# Seconds between two records of the beat's own heartbeat (the admin shows it).
HEARTBEAT_EVERY = 10
# Seconds between two checks that the statuses and schedules are in step (the reaper of
# lost runs works on every tick).
RESYNC_EVERY = 30
# Seconds before a task whose due time another beat is firing is looked at again.
BUSY_RETRY = 1.0


class TaskScheduler(Scheduler):
    """Fire the runs of eztaskmanager's scheduled tasks, on top of the app's beat_schedule."""

    max_interval = DEFAULT_MAX_INTERVAL
    backend: CeleryBackend | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tasks: dict[int, Any] = {}
        self.loaded_at: float | None = None
        self.retry_at: dict[int, float] = {}
        self.name = f"beat@{socket.gethostname()}"
        # Lost runs on every tick; the beat's heartbeat and lost schedules less often.
        self.lookout = Lookout(
            BACKEND_NAME,
            ProcessHeartbeat.KIND_SCHEDULER,
            self.name,
            beat_every=HEARTBEAT_EVERY,
            resync_every=RESYNC_EVERY,
        )
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
            self.keep_watch()
            task_wait = self.tick_tasks()
        except Exception:
            logger.exception(
                "eztaskmanager: cannot read the scheduled tasks (is the database up, and "
                "migrated?); trying again in %s s.",
                self.max_interval,
            )
            task_wait = self.max_interval
        finally:
            close_old_connections()
        return min(wait, task_wait)

    def keep_watch(self) -> None:
        """Record the beat's heartbeat, end lost runs, and now and then resync schedules."""
        self.lookout.tick()

    def tick_tasks(self, now: datetime | None = None) -> float:
        """Fire every task whose due time has come; return the seconds until the next event."""
        now = now or timezone.now()
        if self.loaded_at is None or time.monotonic() - self.loaded_at >= self.reload_every:
            self.reload()
        wait = max(self.reload_every - (time.monotonic() - self.loaded_at), 0.0)
        for task_id in list(self.tasks):
            due = due_time(self.tasks[task_id], now)
            if due is not None and due <= now and self.retry_at.get(task_id, 0) <= time.monotonic():
                self.fire(task_id, now)
                task = self.tasks.get(task_id)
                due = due_time(task, now) if task is not None else None
                if due is not None and due <= now and task_id not in self.retry_at:
                    # Another beat is firing it right now: look again in a moment.
                    self.retry_at[task_id] = time.monotonic() + BUSY_RETRY
            if due is None:
                continue
            if task_id in self.retry_at:
                wait = min(wait, max(self.retry_at[task_id] - time.monotonic(), 0.0))
            else:
                wait = min(wait, max((due - now).total_seconds(), 0.0))
        return wait

    def reload(self) -> None:
        """Read the scheduled tasks from the database."""
        self.tasks = {task.pk: task for task in watched_tasks() if is_on_beat(task)}
        self.loaded_at = time.monotonic()
        self.retry_at = {pk: at for pk, at in self.retry_at.items() if pk in self.tasks}

    def fire(self, task_id: int, now: datetime) -> None:
        """Fire one task's due time (claimed in the database first), and log what happened."""
        outcome = firing.fire(task_id, now, self.backend, app=self.app)
        self.refresh(task_id)
        if outcome.result is firing.Fired.RETRY:
            self.retry_at[task_id] = time.monotonic() + self.max_interval
        else:
            self.retry_at.pop(task_id, None)
        firing.log(task_id, outcome)

    def refresh(self, task_id: int) -> None:
        """Read one task again after firing it (it may have left the schedule)."""
        task = watched_tasks().filter(pk=task_id).first()
        if task is None or not is_on_beat(task):
            self.tasks.pop(task_id, None)
        else:
            self.tasks[task_id] = task


def load_backend() -> CeleryBackend:
    """The configured eztaskmanager backend, which must be the Celery one."""
    backend = get_backend()
    if not isinstance(backend, CeleryBackend):
        raise ImproperlyConfigured(
            f'EZTASKMANAGER["BACKEND"] is {type(backend).__name__}, so no task is scheduled on '
            'Celery: set it to "celery" to use eztaskmanager_celery.beat:TaskScheduler.'
        )
    return backend
