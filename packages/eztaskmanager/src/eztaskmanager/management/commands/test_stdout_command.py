"""A plain BaseCommand that only writes to stdout and stderr, without logging."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Write lines to stdout (and one to stderr) without using logging"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lines", type=int, default=3, help="Lines to write to stdout")
        # Not named --stderr: call_command(stderr=stream) would be read as that option.
        parser.add_argument(
            "--with-stderr", action="store_true", help="Also write a line to stderr"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for i in range(1, options["lines"] + 1):
            self.stdout.write(f"Line {i} to stdout")
        if options["with_stderr"]:
            self.stderr.write("A line to stderr")
