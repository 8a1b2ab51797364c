"""A plain script turned command: it only print()s, as many do (browser tests on RQ, Celery)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "print() a few lines, slowly (browser tests of the output capture)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--files", type=int, default=3, help="How many files to 'read'")
        parser.add_argument("--sleep", type=float, default=0.5, help="Seconds per file")

    def handle(self, *args: Any, **options: Any) -> None:
        print(f"Reading {options['files']} files")
        for number in range(1, options["files"] + 1):
            time.sleep(options["sleep"])
            print(f"File {number} done", flush=True)
        self.stdout.write("All files read")
