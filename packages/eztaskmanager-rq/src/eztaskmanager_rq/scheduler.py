"""rq-scheduler's loop, also keeping the task manager whole: lost runs ended, lost schedules booked.

Use it with django-rq's ``RQ = {"SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler"}``
(``manage.py rqscheduler`` reads it). On each of its ticks, and only while it holds
rq-scheduler's lock (so one scheduler does it at a time), after moving due jobs to their
queue it

- ends the runs whose worker is gone (the core's :func:`~eztaskmanager.services.recovery.reap`);
- at its first tick, then every ``resync_interval`` seconds, and at once when it finds
  that Redis lost its data (its own registration is gone), books again the schedules
  Redis no longer holds (:func:`~eztaskmanager.services.recovery.resync`);

and records its own heartbeat in the database, so the admin can tell it runs. Between two
ticks it sleeps until the next job is due, or ``interval`` seconds at most (rq-scheduler
alone sleeps the whole interval, so a job is moved to its queue up to that late). Its
database connection is looked after as Django does around a request: kept between ticks
as ``CONN_MAX_AGE`` says, dropped and opened again when it broke.

rq-scheduler exits when Redis goes away: run it under a supervisor that restarts it
(systemd ``Restart=always``, supervisord, Docker Compose ``restart: unless-stopped``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.services.lookout import Lookout
from eztaskmanager_rq import compat

logger = logging.getLogger(__name__)

BACKEND_NAME = "rq"
# Seconds before the next tick when a job is still due at the end of one.
STILL_DUE_RETRY = 1.0


class Scheduler(compat.base_scheduler_class()):  # type: ignore[misc]
    """django-rq's rq-scheduler, with recovery on its ticks (see the module's docstring)."""

    # Seconds between two looks for schedules Redis lost (runs are looked at every tick).
    resync_interval: float = 30.0
    # Seconds between two records of the heartbeat (rq-scheduler beats twice per tick).
    heartbeat_record_interval: float = 5.0

    # When the soonest job in rq-scheduler's set is due, and when the tick that read it
    # began (Unix times): the sleep after that tick ends then.
    next_job_at: float = math.inf
    tick_started_at: float = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookout = Lookout(
            BACKEND_NAME,
            ProcessHeartbeat.KIND_SCHEDULER,
            self.name,
            beat_every=self.heartbeat_record_interval,
            resync_every=self.resync_interval,
            # No fork follows: a connection is kept between ticks as CONN_MAX_AGE says.
            connections="request",
        )

    def heartbeat(self) -> None:
        """rq-scheduler's heartbeat; its key gone means Redis lost its data: resync at once.

        (A Redis restarted empty quickly enough is reconnected to without an error, and
        this scheduler would otherwise look for lost schedules only ``resync_interval`` later.)
        """
        if not self.connection.expire(self.key, int(self._interval) + 10):
            logger.warning("Scheduler %s: Redis lost its data; booking schedules again.", self.name)
            self.register_birth()
            self.lookout.resync_soon()
        self.lookout.beat()

    # rq-scheduler 0.14's run() sleeps ``_interval`` less the tick's own time (and its
    # heartbeat and lock live ``_interval`` + 10 s): the interval it reads ends when the
    # next job is due, if that comes sooner. Set, it is the configured interval.
    @property
    def _interval(self) -> float:
        return min(self.interval, max(self.next_job_at - self.tick_started_at, 0.0))

    @_interval.setter
    def _interval(self, seconds: float) -> None:
        self.interval = seconds

    def enqueue_jobs(self) -> Any:
        """Move the due jobs to their queues, then recover (called only under the lock)."""
        self.tick_started_at = time.time()
        jobs = super().enqueue_jobs()
        self.lookout.recover()
        soonest = self.connection.zrange(self.scheduled_jobs_key, 0, 0, withscores=True)
        at = soonest[0][1] if soonest else math.inf
        # Due when the tick began, and still there (not moved, or booked meanwhile): look
        # again in a moment, not in a busy loop. One due during the tick: at once.
        self.next_job_at = at if at > self.tick_started_at else time.time() + STILL_DUE_RETRY
        return jobs
