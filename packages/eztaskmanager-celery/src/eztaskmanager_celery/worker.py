"""The worker's own watch: its heartbeat row, and the runs that a dead worker left behind.

When a Celery worker is ready (``worker_ready``, in its main process) it records itself in
the core's :class:`~eztaskmanager.models.ProcessHeartbeat` table (the admin shows which
workers are alive) and runs the core's recovery, so that the runs of a worker that was
killed before it are ended at once rather than after the heartbeat bound. Then it keeps
its row fresh, and reaps lost runs again, every :data:`HEARTBEAT_EVERY` seconds.

The timer runs in the worker's main process: on the worker's own timer (its event loop)
where that loop stays free while tasks run, and on a thread of its own with the solo pool,
whose tasks run inside that loop and would hold it for as long as they last. The event
loop is preferred elsewhere because the prefork pool forks new processes from it: a
thread of ours with a database connection open at that instant would hand a copy of it
to the child.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from celery.concurrency.solo import TaskPool as SoloPool

from eztaskmanager.models import ProcessHeartbeat
from eztaskmanager.registry import get_backend
from eztaskmanager.services.lookout import Lookout
from eztaskmanager_celery import compat
from eztaskmanager_celery.backend import BACKEND_NAME, CeleryBackend

logger = logging.getLogger(__name__)

# Seconds between two heartbeats of a worker (and two passes of its reaper).
HEARTBEAT_EVERY = 15.0

_watch: WorkerWatch | None = None


class WorkerWatch:
    """Record that this worker is alive, and end the runs whose process is gone."""

    def __init__(self, name: str, interval: float = HEARTBEAT_EVERY) -> None:
        self.name = name
        self.interval = interval
        # Paced by the timer below; schedules are the beat's business, not a worker's.
        self.lookout = Lookout(BACKEND_NAME, ProcessHeartbeat.KIND_WORKER, name, beat_every=0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """One heartbeat and one pass of the reaper; never raises into the worker."""
        self.lookout.tick()

    def start(self, consumer: Any) -> None:
        """Repeat :meth:`tick` on the worker's timer, or on a thread with the solo pool."""
        compat.watch_pool_processes(consumer)
        timer = getattr(consumer, "timer", None)
        if timer is not None and not isinstance(getattr(consumer, "pool", None), SoloPool):
            timer.call_repeatedly(self.interval, self.tick)
            return
        self._thread = threading.Thread(
            target=self._loop, name="eztaskmanager-worker-heartbeat", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def stop(self) -> None:
        self._stop.set()


def our_backend() -> CeleryBackend | None:
    """The configured backend if it is the Celery one (a worker may serve another app)."""
    try:
        backend = get_backend()
    except Exception:
        logger.exception("eztaskmanager: the configured backend cannot be built")
        return None
    return backend if isinstance(backend, CeleryBackend) else None


def on_worker_ready(sender: Any = None, **_kw: Any) -> None:
    """Record the worker, end the runs a dead worker left, and start the watch."""
    global _watch
    if our_backend() is None:
        return
    name = getattr(sender, "hostname", None) or f"celery@{socket.gethostname()}"
    watch = WorkerWatch(name)
    watch.tick()
    watch.start(sender)
    _watch = watch


def on_worker_shutdown(**_kw: Any) -> None:
    if _watch is not None:
        _watch.stop()
