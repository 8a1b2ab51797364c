"""Attach a small CSV to the run, saying which process wrote it."""

from __future__ import annotations

import os
from typing import Any

from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Attach probe.csv (the worker's pid in it) to the run's report."

    def handle(self, *args: Any, **options: Any) -> None:
        artifact = self.add_artifact("probe.csv", f"pid,{os.getpid()}\n")
        self.logger.info("attached %s", artifact.file.name if artifact else None)
