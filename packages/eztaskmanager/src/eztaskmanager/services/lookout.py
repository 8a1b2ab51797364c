"""What a worker or a scheduler does now and then to keep the task manager whole.

The workers and schedulers of every backend do the same on their ticks: record that
they are alive (:class:`~eztaskmanager.models.ProcessHeartbeat`, which the admin shows),
end the runs whose worker is gone, and (a scheduler) book again the schedules the engine
lost (:func:`~eztaskmanager.services.recovery.recover`). :class:`Lookout` does each at
most so often, and never raises: the database may be away for a while, and the loop
must go on.

Its database connections are looked after in one of three ways (``connections``):

- ``"close"`` (a worker): closed afterwards, because a work-horse is forked right after
  and must not inherit one;
- ``"request"`` (a scheduler): as Django does around a request (``close_old_connections``),
  so ``CONN_MAX_AGE`` decides whether one is kept for the next tick, and one that broke
  while the loop slept (the server dropped it, or restarted) is dropped and opened again;
- ``"caller"``: the caller does it around the whole of its tick (the Celery beat).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Literal

from django.db import close_old_connections, connections

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.registry import get_backend
from eztaskmanager.services.recovery import Every, recover

logger = logging.getLogger(__name__)


Connections = Literal["close", "request", "caller"]


@contextmanager
def between_jobs(close: bool = True) -> Iterator[None]:
    """Database work of a worker's or scheduler's own process: usable connections, closed
    after (``close``), or kept as ``CONN_MAX_AGE`` says (a scheduler: no fork follows).

    Left alone inside a transaction (tests that run a worker's code in their own).
    """
    if not _in_transaction():
        close_old_connections()
    try:
        yield
    finally:
        if not _in_transaction():
            if close:
                connections.close_all()
            else:
                close_old_connections()


def _in_transaction() -> bool:
    return any(conn.in_atomic_block for conn in connections.all(initialized_only=True))


class Lookout:
    """The heartbeat and recovery of one worker or scheduler process (see the module).

    ``beat_every``, ``reap_every`` and ``resync_every`` are the least seconds between two
    heartbeats, two looks for lost runs, and two looks for lost schedules (``None``: never,
    unless asked); 0 means on every call. ``connections``: see the module's docstring.
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
        connections: Connections = "close",
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
        self.connections = connections

    def _database(self) -> AbstractContextManager[None]:
        if self.connections == "caller":
            return nullcontext()
        return between_jobs(close=self.connections == "close")

    def tick(self, force: bool = False, schedules: bool | None = None) -> None:
        """The heartbeat, then recovery, each if due (or ``force``)."""
        self.beat(force)
        self.recover(force, schedules)

    def beat(self, force: bool = False) -> None:
        """Record that this process is alive."""
        if not (self._beat() or force):
            return
        try:
            with self._database():
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
            with self._database():
                recover(get_backend(), schedules=schedules)
        except Exception:
            logger.exception(
                "%s %s could not look for lost runs and schedules", self.kind, self.name
            )

    def resync_soon(self) -> None:
        """Look for lost schedules at the next :meth:`recover` (the engine lost its data)."""
        if self.resync_every is not None:
            self._resync = Every(self.resync_every)
