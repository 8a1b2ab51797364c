"""Write with print() and to sys.stdout/sys.stderr, as plain scripts turned commands do."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Print lines with print(), sys.stdout and sys.stderr"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--console-handler",
            action="store_true",
            help="Also log through a console handler made during the run",
        )
        parser.add_argument(
            "--from-thread", action="store_true", help="Also print from a thread of the command"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("self.stdout line")
        print("printed line")
        print("partial", end="", flush=True)
        print(" line", flush=True)
        print("to stderr", file=sys.stderr)
        sys.stdout.write("sys.stdout line\n")
        if options["console_handler"]:
            log = logging.getLogger("tests.sample_print")
            console = logging.StreamHandler()  # its stream: sys.stderr during the run
            log.addHandler(console)
            try:
                log.warning("logged once")
            finally:
                log.removeHandler(console)
        if options["from_thread"]:
            other = threading.Thread(target=print, args=("printed by another thread",))
            other.start()
            other.join()
        print("last words", end="")
