"""Store what a command logs, and what it writes to stdout/stderr, as the run's log lines.

:class:`DatabaseLogHandler` buffers records and writes them in batches: when the buffer
holds ``batch_size`` records, when ``flush_interval`` seconds passed since the last write,
and when the run ends. Under the runner the run's helper thread writes them (see
:mod:`eztaskmanager.services.monitor`), so the command's thread only appends a tuple per
record while the database works beside it; it writes itself only when far behind.
Elsewhere the thread that logs writes, checking both bounds on every record. The live
viewer is thus at most about a second behind.

A write that fails (the database restarted, a connection was killed) keeps its lines
and is tried again, with a growing pause, on a fresh connection; only when more than
``max_buffered`` lines wait are the oldest dropped, and the report then says how many.
Nothing is written once the run has ended (it was stopped or declared lost).
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.translation import gettext

from eztaskmanager.conf import get_setting

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
        helper_writes: bool = False,
    ) -> None:
        super().__init__(level)
        self.launch_report_id = launch_report_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.thread_id = thread_id
        self.max_buffered = max_buffered
        self.final_flush_seconds = final_flush_seconds
        self.helper_writes = helper_writes
        # One list for the handler's life: the recording thread appends at its end while a
        # write takes lines from its front (both single steps under the GIL).
        self.buffer: list[tuple[float, str, str]] = []
        # The recording thread writes itself when this many lines wait, or at the first
        # record after ``write_due`` (epoch seconds, compared with the record's time). With
        # a helper thread that writes, only when it has fallen far behind.
        self._write_at = max(batch_size, max_buffered // 2) if helper_writes else batch_size
        self._write_due = math.inf
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
        self._schedule_next_write()
        self.setFormatter(logging.Formatter("%(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        """Buffer the record without taking the handler's lock: this is the hot path."""
        if self.thread_id is not None and record.thread != self.thread_id:
            return False
        if record.name.startswith(self.ignored_loggers):
            return False
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        # Formatting the time waits for the write; only the message is needed now.
        try:
            message = record.getMessage()
            if record.exc_info or record.stack_info:
                message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        buffer = self.buffer
        buffer.append((record.created, record.levelname, message))
        if len(buffer) >= self._write_at or record.created >= self._write_due:
            self.flush()

    def flush_if_due(self) -> None:
        """Write what waits if ``batch_size`` lines wait or ``flush_interval`` has passed.

        The run's helper thread calls it a few times a second (see
        :mod:`eztaskmanager.services.monitor`); with ``helper_writes`` it writes the lines of
        a busy command too, while the command's thread only appends.
        """
        if self.buffer and (
            len(self.buffer) >= self.batch_size
            or time.monotonic() - self.last_flush >= self.flush_interval
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered records, if any, unless a failed write waits for its retry.

        Inside a transaction of the command's own, its lines are left to the helper
        thread: written there they would vanish if the command rolled back.
        """
        from eztaskmanager.models import write_log_rows

        with self._flush_lock:
            buffer = self.buffer
            if self.run_ended:
                del buffer[:]
                return
            if self._flushing or not buffer:
                self._schedule_next_write()
                return
            if time.monotonic() < self.retry_at or self._in_command_transaction():
                return
            rows = buffer[:]
            self._flushing = True
            try:
                written = write_log_rows(self.launch_report_id, rows)
            except Exception as exc:
                self._write_failed(exc)
            else:
                if not written:
                    self._run_has_ended()
                    return
                del buffer[: len(rows)]
                if self.failing_since is not None:
                    self._write_recovered()
            finally:
                self._flushing = False
                self._schedule_next_write()

    def _schedule_next_write(self) -> None:
        self.last_flush = time.monotonic()
        if not self.helper_writes:
            self._write_due = time.time() + self.flush_interval

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

    def _run_has_ended(self) -> None:
        self.run_ended = True
        count = len(self.buffer)
        del self.buffer[:]
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
            del self.buffer[:]
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

    The logger's level follows ``--verbosity`` (0: WARNING, 1: INFO, 2-3: DEBUG). Its
    records are also printed to the console while the command runs, unless another
    handler shows them already or ``EZTASKMANAGER["LOG_TO_CONSOLE"]`` says otherwise: by
    default (``None``) when the command runs from a shell, not when the task manager's
    runner stores them (printing every record a second time would double its cost).
    """

    logger: logging.Logger | None = None

    def execute(self, *args: Any, **options: Any) -> str | None:
        name = self.__module__.rsplit(".", 1)[-1]
        self.logger = logging.getLogger(f"eztaskmanager.commands.{name}")
        self.logger.setLevel(verbosity2loglevel(options.get("verbosity", 1)))
        if not _console_wanted(self.logger):
            return super().execute(*args, **options)
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
        self.logger.addHandler(console)
        try:
            return super().execute(*args, **options)
        finally:
            self.logger.removeHandler(console)


def _console_wanted(log: logging.Logger) -> bool:
    """Whether ``log`` needs a console handler for this run (decided once, not per record)."""
    handlers = _reached_handlers(log)
    if any(not isinstance(handler, DatabaseLogHandler) for handler in handlers):
        return False  # shown already (the project's logging, Celery's, a test's)
    wanted = get_setting("LOG_TO_CONSOLE")
    if wanted is not None:
        return bool(wanted)
    ident = threading.get_ident()
    return not any(handler.thread_id in (None, ident) for handler in handlers)


def _reached_handlers(log: logging.Logger) -> list[logging.Handler]:
    """The handlers a record of ``log`` reaches, through its ancestors while it propagates."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = log
    while current is not None:
        handlers += current.handlers
        if not current.propagate:
            break
        current = current.parent
    return handlers
