"""Always fail: to see how a failed run is reported and notified."""

from __future__ import annotations

from typing import Any

from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Log a line, then fail with an exception"

    def handle(self, *args: Any, **options: Any) -> None:
        self.logger.info("About to fail")
        raise RuntimeError("This command always fails")
