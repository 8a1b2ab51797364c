"""Write a run's waiting log lines in batches, and keep them through a database blip.

:class:`LogWriter` holds the lines a :class:`~eztaskmanager.services.log_handler.DatabaseLogHandler`
appended and writes them as one batch (:func:`~eztaskmanager.models.write_log_rows`):
when ``batch_size`` lines wait or ``flush_interval`` seconds passed since the last write
(:meth:`LogWriter.write_if_due`, called by the run's helper thread a few times a second,
and at once when the thread that logs has a batch ready: :meth:`LogWriter.backlog`),
when the thread that logs has fallen far behind, and when the run ends: the runner then
takes the last lines (:meth:`LogWriter.take`) and writes them in the transaction that
ends the run.

A write that fails (the database restarted, a connection was killed) keeps its lines
and is tried again, with a growing pause, on a fresh connection; only when more than
``max_buffered`` lines wait are the oldest dropped, and the report then says how many.
Nothing is written once the run has ended (it was stopped or declared lost).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.translation import gettext

if TYPE_CHECKING:
    from eztaskmanager.models.logs import LogColumns

logger = logging.getLogger(__name__)

# The items of a line as it waits: the record's time in epoch seconds, its level, its message.
ITEMS = 3
# Lines kept in memory while the database cannot be written to.
MAX_BUFFERED = 200_000
# Longest pause between two tries of a failing write.
MAX_RETRY_PAUSE = 10.0
# How long the last write of a run is tried before its lines are given up.
FINAL_FLUSH_SECONDS = 30.0


class LogWriter:
    """The waiting lines of one run, and how and when they are written."""

    def __init__(
        self,
        report_id: int,
        batch_size: int = 5000,
        flush_interval: float = 0.5,
        max_buffered: int = MAX_BUFFERED,
        final_flush_seconds: float = FINAL_FLUSH_SECONDS,
        helper_writes: bool = False,
    ) -> None:
        self.report_id = report_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_buffered = max_buffered
        self.final_flush_seconds = final_flush_seconds
        self.helper_writes = helper_writes
        # One list for the writer's life, the ``ITEMS`` items of each line one after the
        # other: the thread that logs extends its end by a whole line while a write takes
        # whole lines from its front (both single steps under the GIL). Flat, not a tuple
        # per line: kept tuples would each count towards a garbage collection, one every
        # 700 lines, each longer as the lines pile up.
        self.waiting: list[float | str] = []
        # The thread that logs calls backlog() when this many items wait, or at the first
        # record after ``write_due`` (epoch seconds, compared with the record's time): it
        # writes them, or with a helper thread that writes, wakes that one (``wake``) and
        # writes only once the helper has fallen far behind (``far_behind`` items).
        self.batch_items = batch_size * ITEMS
        self.far_behind = max(batch_size, max_buffered // 2) * ITEMS
        self.write_at = self.batch_items
        self.write_due = math.inf
        self.wake: Callable[[], object] | None = None
        self.last_write = time.monotonic()
        # After a failed write: no new try before retry_at (monotonic seconds).
        self.failures = 0
        self.retry_at = 0.0
        self.failing_since: float | None = None
        self.dropped = 0
        # The run has ended (stopped or lost): what it logs now goes nowhere.
        self.run_ended = False
        self._writing = False
        self._lock = threading.RLock()
        # The connection of the thread that made the writer, and how deep in transactions
        # it was then: deeper, it is inside a transaction of the command's.
        self._home_connection = connections[DEFAULT_DB_ALIAS]
        self._home_depth = len(self._home_connection.atomic_blocks)
        self._schedule_next_write()

    def write_if_due(self) -> bool:
        """Write what waits if ``batch_size`` lines wait or ``flush_interval`` has passed.

        Returns whether it wrote.
        """
        due = bool(self.waiting) and (
            len(self.waiting) >= self.batch_size * ITEMS
            or time.monotonic() - self.last_write >= self.flush_interval
        )
        if due:
            self.write()
        return due

    def backlog(self) -> None:
        """A batch waits (``write_at`` items, or ``write_due`` has come): write it, or wake
        the helper thread that writes it.

        Called by the thread that logs. Once the helper is woken, that thread is not called
        again until the helper has written, unless the helper falls far behind.
        """
        if not self.helper_writes or len(self.waiting) >= self.far_behind:
            self.write()
            return
        self.write_at = self.far_behind
        if self.wake is not None:
            self.wake()

    def write(self) -> None:
        """Write the waiting lines, if any, unless a failed write waits for its retry.

        Inside a transaction of the command's own, its lines are left to the helper
        thread: written there they would vanish if the command rolled back.
        """
        from eztaskmanager.models.logs import write_log_columns

        with self._lock:
            waiting = self.waiting
            if self.run_ended:
                del waiting[:]
                return
            if self._writing or not waiting:
                self._schedule_next_write()
                return
            if time.monotonic() < self.retry_at or self._in_command_transaction():
                return
            end = len(waiting)  # whole lines: each is added in one step
            self._writing = True
            try:
                written = write_log_columns(
                    self.report_id, waiting[0:end:ITEMS], waiting[1:end:ITEMS], waiting[2:end:ITEMS]
                )
            except Exception as exc:
                self._write_failed(exc)
            else:
                if not written:
                    self._run_has_ended()
                    return
                del waiting[:end]
                if self.failing_since is not None:
                    self._write_recovered()
            finally:
                self._writing = False
                self._schedule_next_write()

    def take(self) -> LogColumns | None:
        """Take the waiting lines out, for the run's end to write in its own transaction.

        ``None``, taking nothing, while a failed write waits to be tried again (lines may
        have been dropped meanwhile): :meth:`close` then writes them, with its notice.
        No lines once the run has ended.
        """
        from eztaskmanager.models.logs import LogColumns

        with self._lock:
            waiting = self.waiting
            if self.failing_since is not None:
                return None
            end = 0 if self.run_ended else len(waiting)
            lines = LogColumns(waiting[0:end:ITEMS], waiting[1:end:ITEMS], waiting[2:end:ITEMS])
            del waiting[:]
            return lines

    def close(self) -> None:
        """Write what is left, trying again for up to ``final_flush_seconds`` if it fails."""
        deadline = time.monotonic() + self.final_flush_seconds
        self.write()
        while self.waiting and not self.run_ended and time.monotonic() < deadline:
            time.sleep(max(min(self.retry_at, deadline) - time.monotonic(), 0.01))
            self.write()
        if self.waiting and not self.run_ended:
            logger.error(
                "%d log lines of report %s could not be stored: the database did not answer.",
                self.waiting_lines(),
                self.report_id,
            )
            del self.waiting[:]

    def waiting_lines(self) -> int:
        """How many lines wait to be written."""
        return len(self.waiting) // ITEMS

    def _schedule_next_write(self) -> None:
        self.last_write = time.monotonic()
        self.write_at = self.batch_items
        if not self.helper_writes:
            self.write_due = time.time() + self.flush_interval

    def _in_command_transaction(self) -> bool:
        current = connections[DEFAULT_DB_ALIAS]
        return current is self._home_connection and len(current.atomic_blocks) > self._home_depth

    def _write_failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.time()
            logger.warning(
                "Could not store the log lines of report %s (%s); they are kept and "
                "written when the database answers again.",
                self.report_id,
                exc,
            )
        self.retry_at = time.monotonic() + min(0.25 * 2**self.failures, MAX_RETRY_PAUSE)
        if not connection.in_atomic_block:
            try:
                connection.close()  # the next try opens a fresh connection
            except Exception:
                logger.debug("Closing a broken database connection failed", exc_info=True)
        excess = self.waiting_lines() - self.max_buffered
        if excess > 0:
            del self.waiting[: excess * ITEMS]
            self.dropped += excess

    def _write_recovered(self) -> None:
        from eztaskmanager.models import write_log_rows

        seconds = time.time() - (self.failing_since or time.time())
        logger.warning(
            "Log lines of report %s written again after %.1f s.", self.report_id, seconds
        )
        if self.dropped:
            notice = gettext(
                "%(count)d log lines were lost: the database could not be reached for "
                "%(seconds).0f s."
            ) % {"count": self.dropped, "seconds": seconds}
            write_log_rows(self.report_id, [(time.time(), "WARNING", notice)], counted=False)
        self.failures, self.retry_at, self.failing_since, self.dropped = 0, 0.0, None, 0

    def _run_has_ended(self) -> None:
        self.run_ended = True
        count = self.waiting_lines()
        del self.waiting[:]
        logger.warning(
            "Report %s has ended (stopped or lost): %d log lines of its run were not stored.",
            self.report_id,
            count,
        )
