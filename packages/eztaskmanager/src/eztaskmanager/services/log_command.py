"""The base class of commands that log through ``self.logger``, and its console echo."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand

from eztaskmanager.conf import get_setting
from eztaskmanager.progress import report_progress
from eztaskmanager.services.log_handler import DatabaseLogHandler

if TYPE_CHECKING:
    from eztaskmanager.artifacts import Content
    from eztaskmanager.models import Artifact

VERBOSITY_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}


def verbosity2loglevel(verbosity: int | str | None) -> int:
    """Map a command's ``--verbosity`` (0-3) onto a logging level."""
    try:
        return VERBOSITY_LEVELS.get(int(verbosity), logging.DEBUG)
    except (TypeError, ValueError):
        return logging.INFO


class LoggerEnabledCommand(BaseCommand):
    """A ``BaseCommand`` with a ``self.logger`` whose records the task manager stores, and
    ``self.report_progress()`` for the bars the admin shows while it runs, and
    ``self.add_artifact()`` for files it leaves on its report.

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

    def report_progress(
        self,
        current: float,
        total: float | None = None,
        group: Sequence[str] | str = (),
        status: str = "",
    ) -> None:
        """Show how far the command is: :func:`eztaskmanager.progress.report_progress`."""
        report_progress(current, total, group, status)

    def add_artifact(
        self, name: str, content: Content, content_type: str | None = None
    ) -> Artifact | None:
        """Attach a file to the run's report: :func:`eztaskmanager.artifacts.add_artifact`."""
        from eztaskmanager.artifacts import add_artifact  # it needs the models: loaded late

        return add_artifact(name, content, content_type)


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
