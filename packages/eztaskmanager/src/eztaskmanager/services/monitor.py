"""The helper thread beside every run: log writes, heartbeat, stop requests and the timeout.

While the command runs in its thread, :class:`RunMonitor` wakes a few times a second,
and as soon as a batch of log lines waits, to

- write the command's log lines in batches (:mod:`eztaskmanager.services.log_writer`), so
  that the command's thread only appends them (and the end of a busy run waits for one
  batch at most, not for all it logged since the last tick),
- record the run's heartbeat (one UPDATE a second, with the progress its command
  reported meanwhile), which tells it whether the run should go on: a stop was asked for (``stopping``), or the run was declared lost,
- end the run when its timeout has passed.

To end the run it raises :class:`RunStopped` or :class:`RunTimedOut` in the command's
thread (:class:`Interrupter`). That works on every worker kind, including those whose
engine cannot kill a run (Celery's solo and threads pools, RQ's SimpleWorker, an
orphaned RQ work-horse); where the engine can kill it, whichever comes first ends it.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING

from django.db import OperationalError, connections

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport
    from eztaskmanager.progress import RunProgress
    from eztaskmanager.services.logger import DatabaseLogHandler

logger = logging.getLogger(__name__)

# Seconds between two heartbeats of a run (and so the longest wait for a stop request).
HEARTBEAT_INTERVAL = 1.0
# Seconds between two wake-ups of the helper thread; fewer while the command logs fast, so
# that its own last write, which the end of the run waits for, is a small one.
TICK = 0.25
BUSY_TICK = 0.05
# The signal that interrupts a command running in its process's main thread.
INTERRUPT_SIGNAL = getattr(signal, "SIGUSR2", None)


class RunInterrupted(BaseException):
    """The run was ended from outside its command; a ``BaseException``, like ``SystemExit``,
    so that a command's ``except Exception`` does not swallow it."""


class RunStopped(RunInterrupted):
    """Someone asked the run to stop (or it was declared lost elsewhere)."""


class RunTimedOut(RunInterrupted):
    """The run lasted longer than its timeout."""


class Interrupter:
    """Raises an exception in the thread that entered it, from another thread, while armed.

    In a process's main thread a signal does it, which also cuts short a ``time.sleep()``
    or a blocking read; in any other thread, CPython's asynchronous exception, raised at
    the next Python instruction.
    """

    def __init__(self) -> None:
        self.thread_id = threading.get_ident()
        self.in_main_thread = threading.current_thread() is threading.main_thread()
        self.use_signal = self.in_main_thread and INTERRUPT_SIGNAL is not None
        self.pending: type[RunInterrupted] | None = None
        self.armed = False
        self._lock = threading.Lock()
        self._previous_handler = None

    def __enter__(self) -> Interrupter:
        if self.use_signal:
            self._previous_handler = signal.signal(INTERRUPT_SIGNAL, self._on_signal)
        with self._lock:
            self.armed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.armed = False
            if not self.use_signal and self.pending is not None:
                # Take back an exception not yet raised: it must not hit the runner's code.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), None)
        if self.use_signal:
            signal.signal(INTERRUPT_SIGNAL, self._previous_handler)

    def interrupt(self, exception: type[RunInterrupted]) -> bool:
        """Raise ``exception`` in the armed thread; return whether it was sent."""
        with self._lock:
            if not self.armed:
                return False
            self.pending = exception
            if self.use_signal:
                signal.pthread_kill(self.thread_id, INTERRUPT_SIGNAL)
            else:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread_id), ctypes.py_object(exception)
                )
        return True

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.armed and self.pending is not None:
            raise self.pending()


class RunMonitor:
    """The run's helper thread (see the module's docstring)."""

    def __init__(
        self,
        report: LaunchReport,
        handler: DatabaseLogHandler,
        interrupter: Interrupter,
        timeout: float | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        progress: RunProgress | None = None,
    ) -> None:
        self.report = report
        self.progress = progress
        self.handler = handler
        self.interrupter = interrupter
        self.heartbeat_interval = heartbeat_interval
        self.deadline = time.monotonic() + timeout if timeout else None
        self.ended_by: type[RunInterrupted] | None = None
        # Set to wake the thread: to stop it, or when a batch of log lines waits.
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        handler.writer.wake = self._wake.set

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._watch, name=f"eztaskmanager-run-{self.report.pk}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _watch(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_interval
        try:
            wait = TICK
            while True:
                self._wake.wait(wait)
                self._wake.clear()
                if self._stopping:
                    break
                wait = BUSY_TICK if self.handler.flush_if_due() else TICK
                now = time.monotonic()
                if self.deadline is not None and now >= self.deadline:
                    self._end(RunTimedOut)
                if now >= next_beat:
                    next_beat = now + self.heartbeat_interval
                    if self._beat() not in (None, "running"):
                        self._end(RunStopped)
        except Exception:
            logger.exception("The helper thread of report %s failed", self.report.pk)
        finally:
            connections.close_all()

    def _beat(self) -> str | None:
        # The bars the command reported since the last beat go in the same UPDATE.
        progress = self.progress.take() if self.progress is not None else None
        try:
            return self.report.heartbeat(progress)
        except OperationalError as exc:
            if progress is not None:
                self.progress.give_back()
            # A database blip: the run goes on; the reaper's bound is far longer.
            logger.warning("Could not record the heartbeat of report %s: %s", self.report.pk, exc)
            connections.close_all()
            return None

    def _end(self, exception: type[RunInterrupted]) -> None:
        first_or_again = self.ended_by is None or self.ended_by is exception
        if first_or_again and self.interrupter.interrupt(exception):
            self.ended_by = exception
