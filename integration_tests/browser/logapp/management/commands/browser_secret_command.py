"""Log the digest of a secret it is given, never the secret (the protected task's browser test)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.core.management.base import CommandParser

from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Log the SHA-256 of --token a few times, slowly, without logging the token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--token", default="", help="A secret")
        parser.add_argument("--lines", type=int, default=3, help="How many lines to log")
        parser.add_argument("--sleep", type=float, default=0.2, help="Seconds between lines")

    def handle(self, *args: Any, **options: Any) -> None:
        digest = hashlib.sha256(options["token"].encode()).hexdigest()
        for line in range(1, options["lines"] + 1):
            self.logger.info("Line %d: token sha256=%s", line, digest)
            time.sleep(options["sleep"])
        self.logger.info("Finished")
