"""What a command writes to its stdout and stderr, as log records of the run."""

from __future__ import annotations

import io
import logging


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
