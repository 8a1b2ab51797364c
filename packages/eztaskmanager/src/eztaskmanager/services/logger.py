"""Store what a command logs, and what it writes to stdout/stderr, as the run's log lines.

:class:`DatabaseLogHandler` buffers records and writes them in batches: when the buffer
holds ``batch_size`` records, when ``flush_interval`` seconds passed since the last write
(checked on every record, and by the run's helper thread while the command is quiet, see
:mod:`eztaskmanager.services.monitor`), and when the run ends. The live viewer is thus at
most about a second behind.

A write that fails (the database restarted, a connection was killed) keeps its lines
and is tried again, with a growing pause, on a fresh connection; only when more than
``max_buffered`` lines wait are the oldest dropped, and the report then says how many.
Nothing is written once the run has ended (it was stopped or declared lost).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

VERBOSITY_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}
# Lines kept in memory while the database cannot be written to.
MAX_BUFFERED = 200_000
# Longest pause between two tries of a failing write.
MAX_RETRY_PAUSE = 10.0
# How long the last write of a run is tried before its lines are given up.
FINAL_FLUSH_SECONDS = 30.0


def verbosity2loglevel(verbosity: int | str | None) -> int:
    """Map a command's ``--verbosity`` (0-3) onto a logging level."""
    try:
        return VERBOSITY_LEVELS.get(int(verbosity), logging.DEBUG)
    except (TypeError, ValueError):
        return logging.INFO


class DatabaseLogHandler(logging.Handler):
    """A logging handler that appends records to a launch report as :class:`Log` rows."""

    # Loggers whose records would be written by this handler's own work.
    ignored_loggers = ("django.db.backends", __name__)

    def __init__(
        self,
        launch_report_id: int,
        level: int = logging.NOTSET,
        batch_size: int = 5000,
        flush_interval: float = 0.5,
        thread_id: int | None = None,
        max_buffered: int = MAX_BUFFERED,
        final_flush_seconds: float = FINAL_FLUSH_SECONDS,
    ) -> None:
        super().__init__(level)
        self.launch_report_id = launch_report_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.thread_id = thread_id
        self.max_buffered = max_buffered
        self.final_flush_seconds = final_flush_seconds
        self.buffer: list[tuple[float, str, str]] = []
        self.last_flush = time.monotonic()
        # After a failed write: no new try before retry_at (monotonic seconds).
        self.failures = 0
        self.retry_at = 0.0
        self.failing_since: float | None = None
        self.dropped = 0
        # The run has ended (stopped or lost): what it logs now goes nowhere.
        self.run_ended = False
        self._flushing = False
        self._flush_lock = threading.RLock()
        # The connection of the thread that made the handler, and how deep in
        # transactions it was then: deeper, it is inside a transaction of the command's.
        self._home_connection = connections[DEFAULT_DB_ALIAS]
        self._home_depth = len(self._home_connection.atomic_blocks)
        self.setFormatter(logging.Formatter("%(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        """Buffer the record without taking the handler's lock.

        ``list.append`` is atomic and :meth:`flush` swaps the buffer in one step, so the
        run's thread never waits for the helper thread's write; this is the hot path.
        """
        if self.thread_id is not None and record.thread != self.thread_id:
            return False
        if record.name.startswith(self.ignored_loggers):
            return False
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        # Formatting the time waits for the flush; only the message is needed now.
        try:
            message = record.getMessage()
            if record.exc_info or record.stack_info:
                message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.buffer.append((record.created, record.levelname, message))
        if (
            len(self.buffer) >= self.batch_size
            or time.monotonic() - self.last_flush >= self.flush_interval
        ):
            self.flush()

    def flush_if_due(self) -> None:
        """Write what waits if ``flush_interval`` has passed since the last write."""
        if self.buffer and time.monotonic() - self.last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        """Write the buffered records, if any, unless a failed write waits for its retry.

        Inside a transaction of the command's own, its lines are left to the helper
        thread: written there they would vanish if the command rolled back.
        """
        from eztaskmanager.models import write_log_rows

        with self._flush_lock:
            if self._flushing or not self.buffer or self.run_ended:
                self.last_flush = time.monotonic()
                return
            if time.monotonic() < self.retry_at or self._in_command_transaction():
                return
            rows, self.buffer = self.buffer, []
            self._flushing = True
            try:
                written = write_log_rows(self.launch_report_id, rows)
            except Exception as exc:
                self.buffer[:0] = rows
                self._write_failed(exc)
            except BaseException:
                self.buffer[:0] = rows  # interrupted: the lines are written later
                raise
            else:
                if not written:
                    self._run_has_ended(len(rows))
                elif self.failing_since is not None:
                    self._write_recovered()
            finally:
                self._flushing = False
                self.last_flush = time.monotonic()

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
                self.launch_report_id,
                exc,
            )
        self.retry_at = time.monotonic() + min(0.25 * 2**self.failures, MAX_RETRY_PAUSE)
        if not connection.in_atomic_block:
            try:
                connection.close()  # the next try opens a fresh connection
            except Exception:
                logger.debug("Closing a broken database connection failed", exc_info=True)
        excess = len(self.buffer) - self.max_buffered
        if excess > 0:
            del self.buffer[:excess]
            self.dropped += excess

    def _write_recovered(self) -> None:
        from eztaskmanager.models import write_log_rows

        seconds = time.time() - (self.failing_since or time.time())
        logger.warning(
            "Log lines of report %s written again after %.1f s.", self.launch_report_id, seconds
        )
        if self.dropped:
            notice = gettext(
                "%(count)d log lines were lost: the database could not be reached for "
                "%(seconds).0f s."
            ) % {"count": self.dropped, "seconds": seconds}
            write_log_rows(self.launch_report_id, [(time.time(), "WARNING", notice)], counted=False)
        self.failures, self.retry_at, self.failing_since, self.dropped = 0, 0.0, None, 0

    def _run_has_ended(self, count: int) -> None:
        self.run_ended = True
        self.buffer = []
        logger.warning(
            "Report %s has ended (stopped or lost): %d log lines of its run were not stored.",
            self.launch_report_id,
            count,
        )

    def close(self) -> None:
        """Write what is left, trying again for up to ``final_flush_seconds`` if it fails."""
        deadline = time.monotonic() + self.final_flush_seconds
        self.flush()
        while self.buffer and not self.run_ended and time.monotonic() < deadline:
            time.sleep(max(min(self.retry_at, deadline) - time.monotonic(), 0.01))
            self.flush()
        if self.buffer and not self.run_ended:
            logger.error(
                "%d log lines of report %s could not be stored: the database did not answer.",
                len(self.buffer),
                self.launch_report_id,
            )
            self.buffer = []
        super().close()


class LogStream(io.TextIOBase):
    """A text stream that turns each written line into a log record of one level.

    Given as ``stdout``/``stderr`` to ``call_command``, it stores what a plain
    ``BaseCommand`` writes with ``self.stdout.write()`` and ``self.stderr.write()``.
    """

    def __init__(self, handler: logging.Handler, level: int, name: str) -> None:
        super().__init__()
        self.handler = handler
        self.level = level
        self.name = name
        # The unfinished line, in pieces: joined once, when its newline comes.
        self.pending: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if "\n" not in text:
            if text:
                self.pending.append(text)
            return len(text)
        first, *lines, rest = text.split("\n")
        self.pending.append(first)
        self._emit("".join(self.pending))
        for line in lines:
            self._emit(line)
        self.pending = [rest] if rest else []
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self._emit("".join(self.pending))
            self.pending = []

    def _emit(self, line: str) -> None:
        record = logging.LogRecord(self.name, self.level, self.name, 0, line, None, None)
        self.handler.handle(record)


class LoggerEnabledCommand(BaseCommand):
    """A ``BaseCommand`` with a ``self.logger`` whose records the task manager stores.

    The logger's level follows ``--verbosity`` (0: WARNING, 1: INFO, 2-3: DEBUG). When no
    other handler would show its records, a console handler is added, so they are also
    seen in the worker's output and when the command runs from a shell.
    """

    logger: logging.Logger | None = None

    def execute(self, *args: Any, **options: Any) -> str | None:
        name = self.__module__.rsplit(".", 1)[-1]
        self.logger = logging.getLogger(f"eztaskmanager.commands.{name}")
        self.logger.setLevel(verbosity2loglevel(options.get("verbosity", 1)))
        if not _has_console_handler(self.logger):
            console = logging.StreamHandler()
            console.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
            self.logger.addHandler(console)
        return super().execute(*args, **options)


def _has_console_handler(log: logging.Logger) -> bool:
    """Whether a record of ``log`` reaches a handler other than a database handler."""
    current: logging.Logger | None = log
    while current is not None:
        if any(not isinstance(h, DatabaseLogHandler) for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False
