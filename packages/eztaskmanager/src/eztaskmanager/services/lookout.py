"""What a worker or a scheduler does now and then to keep the task manager whole.

The workers and schedulers of every backend do the same on their ticks: record that
they are alive (:class:`~eztaskmanager.models.ProcessHeartbeat`, which the admin shows),
end the runs whose worker is gone, and (a scheduler) book again the schedules the engine
lost (:func:`~eztaskmanager.services.recovery.recover`). :class:`Lookout` does each at
most so often, on database connections it closes afterwards (a worker forks right
after; a scheduler may sleep for minutes and the server drop an idle connection), and
never raises: the database may be away for a while, and the loop must go on.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connections

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.registry import get_backend
from eztaskmanager.services.recovery import Every, recover

logger = logging.getLogger(__name__)


@contextmanager
def between_jobs() -> Iterator[None]:
    """Database work of a worker's or scheduler's own process: usable connections, closed after.

    Left alone inside a transaction (tests that run a worker's code in their own).
    """
    if not _in_transaction():
        close_old_connections()
    try:
        yield
    finally:
        if not _in_transaction():
            connections.close_all()


def _in_transaction() -> bool:
    return any(conn.in_atomic_block for conn in connections.all(initialized_only=True))


class Lookout:
    """The heartbeat and recovery of one worker or scheduler process (see the module).

    ``beat_every``, ``reap_every`` and ``resync_every`` are the least seconds between two
    heartbeats, two looks for lost runs, and two looks for lost schedules (``None``: never,
    unless asked); 0 means on every call.
    """

    def __init__(
        self,
        backend_name: str,
        kind: str,
        name: str,
        *,
        beat_every: float,
        reap_every: float = 0.0,
        resync_every: float | None = None,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self.backend_name = backend_name
        self.kind = kind
        self.name = name
        self.host = host or socket.gethostname()
        self.pid = pid or os.getpid()
        self.resync_every = resync_every
        self._beat = Every(beat_every)
        self._reap = Every(reap_every)
        self._resync = Every(resync_every) if resync_every is not None else None

    def tick(self, force: bool = False, schedules: bool | None = None) -> None:
        """The heartbeat, then recovery, each if due (or ``force``)."""
        self.beat(force)
        self.recover(force, schedules)

    def beat(self, force: bool = False) -> None:
        """Record that this process is alive."""
        if not (self._beat() or force):
            return
        try:
            with between_jobs():
                ProcessHeartbeat.beat(self.backend_name, self.kind, self.name, self.host, self.pid)
        except Exception as exc:
            logger.warning("Could not record the heartbeat of %s %s: %s", self.kind, self.name, exc)

    def recover(self, force: bool = False, schedules: bool | None = None) -> None:
        """End lost runs and, when due (or asked with ``schedules``), book lost schedules."""
        if not (self._reap() or force):
            return
        if schedules is None:
            schedules = self._resync is not None and self._resync()
        try:
            with between_jobs():
                recover(get_backend(), schedules=schedules)
        except Exception:
            logger.exception(
                "%s %s could not look for lost runs and schedules", self.kind, self.name
            )

    def resync_soon(self) -> None:
        """Look for lost schedules at the next :meth:`recover` (the engine lost its data)."""
        if self.resync_every is not None:
            self._resync = Every(self.resync_every)
