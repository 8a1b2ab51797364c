"""Say what secret it was given without printing it: its SHA-256 and length (the admin's
secret arguments tests; loaded as app ``tests``, which needs no INSTALLED_APPS entry)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Write the SHA-256 and the length of --token, never the token itself"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--token", default="", help="A secret")
        parser.add_argument("--times", type=int, default=1, help="How many lines to write")

    def handle(self, *args: Any, **options: Any) -> None:
        token = options["token"]
        digest = hashlib.sha256(token.encode()).hexdigest()
        for _ in range(options["times"]):
            self.stdout.write(f"token sha256={digest} length={len(token)}")
