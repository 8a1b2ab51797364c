"""A Celery beat scheduler that reads eztaskmanager's ``Task`` table.

Run it with ``celery -A proj beat -S eztaskmanager_celery.beat:TaskScheduler``. Each tick
reads from the database only the tasks due before its longest sleep is over (by an
index, whatever the number of tasks), fires the due ones
(:mod:`eztaskmanager_celery.firing`), and sleeps until the next one is due, counted from
the start of the tick, or a few seconds at most: a change made in the admin is seen at
the next tick. The database connection is kept between ticks as ``CONN_MAX_AGE`` says
(Django's ``close_old_connections()`` before and after each tick, as around a request).
The database says which due times have fired, not the beat's memory: a restarted beat,
or a second one, never fires a due time twice. On its ticks the beat also records that
it is alive and ends the runs whose worker is gone (the core's recovery), so a whole
worker killed mid-run does not leave its run "running" for ever. The project's own
``beat_schedule`` entries keep working as with Celery's default scheduler.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from celery.beat import Scheduler
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils import timezone

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.registry import get_backend
from eztaskmanager.services.lookout import Lookout
from eztaskmanager.services.recovery import Every
from eztaskmanager_celery import firing
from eztaskmanager_celery.backend import BACKEND_NAME, CeleryBackend
from eztaskmanager_celery.timetable import (
    beat_job_id,
    due_time,
    is_on_beat,
    unstamped_tasks,
    upcoming_tasks,
)

logger = logging.getLogger(__name__)

# Longest sleep between ticks unless --max-interval or beat_max_loop_interval says otherwise.
DEFAULT_MAX_INTERVAL = 5
# Longest time a change in the Task table may go unseen (the longest sleep).
MAX_LOOK_EVERY = 5
# Seconds between two records of the beat's own heartbeat (the admin shows it).
HEARTBEAT_EVERY = 10
# Seconds between two checks that the statuses and schedules are in step (the reaper of
# lost runs works on every tick).
RESYNC_EVERY = 30
# Seconds before a task whose due time another beat is firing is looked at again.
BUSY_RETRY = 1.0
# Tasks read per tick at most, soonest first: those due before the longest sleep is over.
BATCH = 100


class TaskScheduler(Scheduler):
    """Fire the runs of eztaskmanager's scheduled tasks, on top of the app's beat_schedule."""

    max_interval = DEFAULT_MAX_INTERVAL
    backend: CeleryBackend | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Due times not to fire again before a moment (monotonic), by task: another beat
        # fires them, or the broker refused them.
        self.retry_at: dict[int, tuple[datetime, float]] = {}
        # Tasks without a stored next run are looked for at the first tick, then now and then.
        self.look_unstamped = Every(RESYNC_EVERY)
        self.name = f"beat@{socket.gethostname()}"
        # Lost runs on every tick; the beat's heartbeat and lost schedules less often.
        self.lookout = Lookout(
            BACKEND_NAME,
            ProcessHeartbeat.KIND_SCHEDULER,
            self.name,
            beat_every=HEARTBEAT_EVERY,
            resync_every=RESYNC_EVERY,
            connections="caller",
        )
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        self.backend = load_backend()
        logger.info(
            "eztaskmanager: firing scheduled tasks from the database (changes seen within %s s).",
            self.look_every,
        )

    @property
    def look_every(self) -> float:
        """The longest sleep between two ticks: a change in the Task table is seen within it."""
        return min(self.max_interval, MAX_LOOK_EVERY)

    @property
    def info(self) -> str:
        return "    . tasks -> eztaskmanager Task table"

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """One pass: the app's own entries, then eztaskmanager's; return the seconds to sleep."""
        wait = super().tick(*args, **kwargs)
        started = time.monotonic()
        close_old_connections()
        try:
            task_wait = self.tick_tasks(timezone.now())
            # After firing, so that the watch (a resync reads every schedule) never makes
            # a due run late.
            self.keep_watch()
        except Exception:
            logger.exception(
                "eztaskmanager: cannot read the scheduled tasks (is the database up, and "
                "migrated?); trying again in %s s.",
                self.max_interval,
            )
            task_wait = self.max_interval
        finally:
            close_old_connections()
        # The wait counts from the start of the tick: the beat wakes up at the due time,
        # not that long after the tick's own work.
        return min(wait, max(task_wait - (time.monotonic() - started), 0.0))

    def keep_watch(self) -> None:
        """Record the beat's heartbeat, end lost runs, and now and then resync schedules."""
        self.lookout.tick()

    def tick_tasks(self, now: datetime | None = None) -> float:
        """Fire every task whose due time has come; return the seconds until the next event."""
        now = now or timezone.now()
        wait = float(self.look_every)
        retry_at, self.retry_at = self.retry_at, {}
        upcoming = upcoming_tasks(BATCH, now + timedelta(seconds=wait))
        unstamped = unstamped_tasks() if self.look_unstamped() else []
        for task in [*unstamped, *upcoming]:
            due = due_time(task, now)
            if due is None or not is_on_beat(task):
                continue
            if due > now:
                if task.cached_next_ride is None:
                    # Store it, so that the index finds the task from now on.
                    handle = beat_job_id(task.pk)
                    task.advance_schedule(handle, handle, due)
                wait = min(wait, (due - now).total_seconds())
                continue
            held = retry_at.get(task.pk)
            if held is not None and held[0] == due and held[1] > time.monotonic():
                self.retry_at[task.pk] = held
            else:
                self.fire(task.pk, now)
            if task.pk in self.retry_at:
                wait = min(wait, max(self.retry_at[task.pk][1] - time.monotonic(), 0.0))
        if len(upcoming) == BATCH and due_time(upcoming[-1], now) <= now:
            wait = 0.0  # more may be due than were read: at once again
        return max(wait, 0.0)

    def fire(self, task_id: int, now: datetime) -> firing.Outcome:
        """Fire one task's due time (claimed in the database first), and log what happened."""
        outcome = firing.fire(task_id, now, self.backend, app=self.app)
        if outcome.result is firing.Fired.RETRY:
            self.retry_at[task_id] = (outcome.due, time.monotonic() + self.max_interval)
        elif outcome.result is firing.Fired.TAKEN:
            # Another beat is firing it right now: look again in a moment.
            self.retry_at[task_id] = (outcome.due, time.monotonic() + BUSY_RETRY)
        else:
            self.retry_at.pop(task_id, None)
        firing.log(task_id, outcome)
        return outcome


def load_backend() -> CeleryBackend:
    """The configured eztaskmanager backend, which must be the Celery one."""
    backend = get_backend()
    if not isinstance(backend, CeleryBackend):
        raise ImproperlyConfigured(
            f'EZTASKMANAGER["BACKEND"] is {type(backend).__name__}, so no task is scheduled on '
            'Celery: set it to "celery" to use eztaskmanager_celery.beat:TaskScheduler.'
        )
    return backend
