"""Log a known sequence of lines at every level, slowly, for the browser tests to watch."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from eztaskmanager.services.logger import LoggerEnabledCommand

# Log text that a careless viewer would run as HTML.
HOSTILE_LINES = (
    '<script>window.__eztmInjected = "script";</script>',
    '<img src="x" onerror="window.__eztmInjected = \'img\'">',
)


class Command(LoggerEnabledCommand):
    help = "Log DEBUG, INFO, WARNING and ERROR lines at a steady pace (browser tests)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lines", type=int, default=50, help="How many steps to log")
        parser.add_argument("--sleep", type=float, default=0.1, help="Seconds between steps")

    def handle(self, *args: Any, **options: Any) -> None:
        self.logger.info("Start of the browser test run")
        for line in HOSTILE_LINES:
            self.logger.info(line)
        for step in range(1, options["lines"] + 1):
            self.logger.debug("Processing step %d", step)
            if step % 5 == 0:
                self.logger.info("Progress %d/%d", step, options["lines"])
            if step % 7 == 0:
                self.logger.warning("Step %d is slow", step)
            if step % 11 == 0:
                self.logger.error("Step %d failed", step)
            time.sleep(options["sleep"])
        self.logger.info("Summary:\n  %d steps\n  done", options["lines"])
        self.logger.info("Finished")
