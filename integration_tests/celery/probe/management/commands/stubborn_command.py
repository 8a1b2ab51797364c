"""A command that will not stop when asked: only its process being killed ends it.

It stands for a command stuck where eztaskmanager's cooperative stop cannot reach it (a
long C call, or code that swallows every exception), so that the tests see the engine's
own kill at work.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Log a line every tenth of a second, ignoring every attempt to interrupt it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="Lines to log")

    def handle(self, *args: Any, **options: Any) -> None:
        for i in range(1, options["limit"] + 1):
            try:
                self.logger.info("%d/%d", i, options["limit"])
                time.sleep(0.1)
            except BaseException as exc:  # the point of this command
                self.logger.warning("Ignoring %s", type(exc).__name__)
