"""Log a known sequence of lines at every level, slowly, for the browser tests to watch."""

from __future__ import annotations

import contextlib
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
        parser.add_argument(
            "--cleanup",
            type=float,
            default=0,
            help="Seconds spent cleaning up when stopped, before the run ends",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.steps(options["lines"], options["sleep"])
        except BaseException:  # the run is stopped (or timed out): the core's RunInterrupted
            if not options["cleanup"]:
                raise
            self.clean_up(options["cleanup"])
            raise

    def clean_up(self, seconds: float) -> None:
        """Take ``seconds`` to end, as a command closing files or a transaction would; the
        run stays *stopping* meanwhile, whatever further stop requests arrive."""
        self.logger.warning("Cleaning up before stopping")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(BaseException):
                time.sleep(0.1)
        self.logger.info("Clean-up done")

    def steps(self, lines: int, sleep: float) -> None:
        self.logger.info("Start of the browser test run")
        for line in HOSTILE_LINES:
            self.logger.info(line)
        for step in range(1, lines + 1):
            self.logger.debug("Processing step %d", step)
            # A bar for the run, and one for each block of ten steps under it.
            block, in_block = divmod(step - 1, 10)
            self.report_progress(step, lines, group="Steps", status=f"step {step}")
            self.report_progress(
                in_block + 1, min(10, lines - block * 10), group=("Steps", f"block {block + 1}")
            )
            if step % 5 == 0:
                self.logger.info("Progress %d/%d", step, lines)
            if step % 7 == 0:
                self.logger.warning("Step %d is slow", step)
            if step % 11 == 0:
                self.logger.error("Step %d failed", step)
            time.sleep(sleep)
        self.logger.info("Summary:\n  %d steps\n  done", lines)
        self.logger.info("Finished")
