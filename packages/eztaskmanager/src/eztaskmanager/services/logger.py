"""Store what a command logs, and what it writes to stdout/stderr, as the run's log lines.

:class:`DatabaseLogHandler` buffers records and writes them in batches: when the buffer
holds ``batch_size`` records, when ``flush_interval`` seconds passed since the last write
(checked on every record, and by a helper thread while the command is quiet), and when
the run ends. The live viewer is thus at most about a second behind.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, connections

logger = logging.getLogger(__name__)

VERBOSITY_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}


def verbosity2loglevel(verbosity: int | str | None) -> int:
    """Map a command's ``--verbosity`` (0-3) onto a logging level."""
    try:
        return VERBOSITY_LEVELS.get(int(verbosity), logging.DEBUG)
    except (TypeError, ValueError):
        return logging.INFO


class DatabaseLogHandler(logging.Handler):
    """A logging handler that appends records to a launch report as :class:`Log` rows."""

    # Loggers whose records would be written by this handler's own work.
    ignored_loggers = ("django.db.backends",)

    def __init__(
        self,
        launch_report_id: int,
        level: int = logging.NOTSET,
        batch_size: int = 5000,
        flush_interval: float = 0.5,
        thread_id: int | None = None,
    ) -> None:
        super().__init__(level)
        self.launch_report_id = launch_report_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.thread_id = thread_id
        self.buffer: list[tuple[float, str, str]] = []
        self.last_flush = time.monotonic()
        self._flushing = False
        self._flush_lock = threading.RLock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
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

    def flush(self) -> None:
        """Write the buffered records, if any; safe to call from the helper thread."""
        from eztaskmanager.models import write_log_rows

        with self._flush_lock:
            if self._flushing or not self.buffer:
                self.last_flush = time.monotonic()
                return
            rows, self.buffer = self.buffer, []
            self._flushing = True
            try:
                write_log_rows(self.launch_report_id, rows)
            except Exception:
                logger.exception(
                    "Could not store %d log lines of report %s", len(rows), self.launch_report_id
                )
            finally:
                self._flushing = False
                self.last_flush = time.monotonic()

    def start_flusher(self) -> None:
        """Flush from a helper thread while the command is quiet.

        Busy commands flush from their own thread (on size or time, checked per record):
        two threads writing would fight over the GIL and be slower. Only outside a
        transaction: the helper thread has its own database connection, which could
        neither see nor wait for rows of an open transaction.
        """
        if connection.in_atomic_block or self._flusher is not None:
            return
        self._flusher = threading.Thread(
            target=self._flush_periodically, name="eztaskmanager-log-flusher", daemon=True
        )
        self._flusher.start()

    def _flush_periodically(self) -> None:
        try:
            while not self._stop.wait(self.flush_interval):
                if self.buffer and time.monotonic() - self.last_flush >= self.flush_interval:
                    self.flush()
        finally:
            connections.close_all()

    def close(self) -> None:
        """Stop the helper thread and write what is left."""
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None
        self.flush()
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
        self.pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self._emit(self.pending)
            self.pending = ""

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
