"""Log a stream of lines with random warnings and errors, to watch the live log viewer."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import CommandParser

from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Command for testing live logger"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="Limit the max iteration number")
        parser.add_argument(
            "--trace-steps", type=int, default=10, help="Number of steps to emit a trace info"
        )
        parser.add_argument(
            "--error-prob", type=float, default=0.0, help="Probability of error emission"
        )
        parser.add_argument(
            "--warning-prob", type=float, default=0.0, help="Probability of warning emission"
        )
        parser.add_argument(
            "--sleep", type=float, default=0.1, help="Seconds to wait between iterations"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit, steps = options["limit"], max(options["trace_steps"], 1)
        self.logger.info("Start")
        for i in range(1, limit + 1):
            self.logger.debug("A debug message was generated (%d)", i)
            if random.random() < options["error_prob"]:
                self.logger.error("An error was generated randomly")
            if random.random() < options["warning_prob"]:
                self.logger.warning("A warning was generated randomly")
            if i % steps == 0:
                self.logger.info("%d/%d", i, limit)
            if i % steps == 0 or i == limit:  # as often as the trace: a bar costs little
                self.report_progress(i, limit, group="Iterations")
            if options["sleep"]:
                time.sleep(options["sleep"])
        self.logger.info("Finished")
