"""Store what a command logs, and what it writes to stdout/stderr, as the run's log lines.

One module for each part, all importable from here, the path projects use
(``from eztaskmanager.services.logger import LoggerEnabledCommand``):

- :mod:`~eztaskmanager.services.log_command`: :class:`LoggerEnabledCommand`, the base class
  of commands that log through ``self.logger``, and :func:`verbosity2loglevel`;
- :mod:`~eztaskmanager.services.log_handler`: :class:`DatabaseLogHandler`, which keeps each
  record of the run as a line waiting to be written;
- :mod:`~eztaskmanager.services.log_writer`: the waiting lines written in batches, kept
  through a database blip;
- :mod:`~eztaskmanager.services.log_stream`: :class:`LogStream`, the command's stdout and
  stderr as records.
"""

from __future__ import annotations

from eztaskmanager.services.log_command import LoggerEnabledCommand, verbosity2loglevel
from eztaskmanager.services.log_handler import DatabaseLogHandler
from eztaskmanager.services.log_stream import LogStream

__all__ = ["DatabaseLogHandler", "LogStream", "LoggerEnabledCommand", "verbosity2loglevel"]
