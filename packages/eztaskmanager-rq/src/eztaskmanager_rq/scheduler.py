"""rq-scheduler's loop, also keeping the task manager whole: lost runs ended, lost schedules booked.

Use it with django-rq's ``RQ = {"SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler"}``
(``manage.py rqscheduler`` reads it). On each of its ticks, and only while it holds
rq-scheduler's lock (so one scheduler does it at a time), after moving due jobs to their
queue it

- ends the runs whose worker is gone (the core's :func:`~eztaskmanager.services.recovery.reap`);
- at its first tick, then every ``resync_interval`` seconds, and at once when it finds
  that Redis lost its data (its own registration is gone), books again the schedules
  Redis no longer holds (:func:`~eztaskmanager.services.recovery.resync`);

and records its own heartbeat in the database, so the admin can tell it runs.

rq-scheduler exits when Redis goes away: run it under a supervisor that restarts it
(systemd ``Restart=always``, supervisord, Docker Compose ``restart: unless-stopped``).
"""

from __future__ import annotations

import logging
from typing import Any

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.services.lookout import Lookout
from eztaskmanager_rq import compat

logger = logging.getLogger(__name__)

BACKEND_NAME = "rq"


class Scheduler(compat.base_scheduler_class()):  # type: ignore[misc]
    """django-rq's rq-scheduler, with recovery on its ticks (see the module's docstring)."""

    # Seconds between two looks for schedules Redis lost (runs are looked at every tick).
    resync_interval: float = 30.0
    # Seconds between two records of the heartbeat (rq-scheduler beats twice per tick).
    heartbeat_record_interval: float = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookout = Lookout(
            BACKEND_NAME,
            ProcessHeartbeat.KIND_SCHEDULER,
            self.name,
            beat_every=self.heartbeat_record_interval,
            resync_every=self.resync_interval,
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

    def enqueue_jobs(self) -> Any:
        """Move the due jobs to their queues, then recover (called only under the lock)."""
        jobs = super().enqueue_jobs()
        self.lookout.recover()
        return jobs
