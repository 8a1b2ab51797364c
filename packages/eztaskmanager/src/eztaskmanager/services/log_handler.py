"""The logging handler that turns a run's records into its log lines.

:class:`DatabaseLogHandler` is on the hot path of every record a command logs, so it
only keeps what a line needs (the record's time, level and message) at the end of its
:class:`~eztaskmanager.services.log_writer.LogWriter`'s list: no lock, no time formatted,
no database. Under the runner the run's helper thread writes those lines (see
:mod:`eztaskmanager.services.monitor`); elsewhere the thread that logs writes them, when
``batch_size`` lines wait or at its first record ``flush_interval`` seconds after the
last write. The live viewer is thus at most about a second behind.

The message is made here, in the thread that logs, not later by the writer: a record's
arguments may change once the call returned (a list, a model instance), their ``str()``
may read the database or depend on the thread's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from eztaskmanager.services.log_writer import FINAL_FLUSH_SECONDS, MAX_BUFFERED, LogWriter

if TYPE_CHECKING:
    from eztaskmanager.models.logs import LogColumns


class DatabaseLogHandler(logging.Handler):
    """A logging handler that appends records to a launch report as :class:`Log` rows."""

    # Loggers whose records would be written by this handler's own work.
    ignored_loggers = ("django.db.backends", LogWriter.__module__)

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
        mask: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(level)
        # Applied to each message: a task's secret arguments never reach its log.
        self.mask = mask
        self.launch_report_id = launch_report_id
        self.thread_id = thread_id
        self.writer = LogWriter(
            launch_report_id,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_buffered=max_buffered,
            final_flush_seconds=final_flush_seconds,
            helper_writes=helper_writes,
        )
        # The writer's list of waiting lines (flat), the same object for the handler's life.
        self.buffer = self.writer.waiting
        # Whether a logger's records are ignored, by name: a dict lookup per record
        # instead of a prefix test.
        self._ignored: dict[str, bool] = {}
        self.setFormatter(logging.Formatter("%(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        """Keep the record without taking the handler's lock: this is the hot path."""
        if self.thread_id is not None and record.thread != self.thread_id:
            return False
        ignored = self._ignored.get(record.name)
        if ignored is None:
            ignored = self._ignored[record.name] = record.name.startswith(self.ignored_loggers)
        if ignored:
            return False
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info or record.stack_info:
                message = self.format(record)
            if self.mask is not None:
                message = self.mask(message)
        except Exception:
            self.handleError(record)
            return
        waiting = self.buffer
        waiting.extend((record.created, record.levelname, message))  # one step: a whole line
        writer = self.writer
        if len(waiting) >= writer.write_at or record.created >= writer.write_due:
            writer.backlog()

    def flush_if_due(self) -> bool:
        """Write what waits if it is due; return whether it wrote (a busy log).

        The run's helper thread calls it a few times a second; with ``helper_writes`` it
        writes the lines of a busy command too, while the command's thread only appends.
        """
        return self.writer.write_if_due()

    def flush(self) -> None:
        """Write the waiting lines now (see :meth:`LogWriter.write`)."""
        self.writer.write()

    def close(self) -> None:
        """Write what is left (see :meth:`LogWriter.close`)."""
        self.writer.close()
        super().close()

    def close_taking_last_lines(self) -> LogColumns:
        """Close, and return the lines still waiting, for the run's end to write with it
        (:meth:`LogWriter.take`); those the writer cannot hand over it writes itself."""
        from eztaskmanager.models.logs import NO_LINES

        lines = self.writer.take()
        if lines is None:
            self.writer.close()
            lines = NO_LINES
        super().close()
        return lines
