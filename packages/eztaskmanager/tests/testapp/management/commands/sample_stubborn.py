"""A command that sleeps for long and swallows every ``Exception``: Stop must still end it.

``--step`` sleeps in short steps: outside a process's main thread, an interruption is only
raised between Python instructions, so one long ``time.sleep()`` would have to end first.
"""

import contextlib
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=60)
        parser.add_argument("--step", type=float, default=None)
        parser.add_argument(
            "--catch-everything",
            action="store_true",
            help="Catch even BaseException (a stop) and return as if all went well.",
        )

    def handle(self, *args, **options):
        self.stdout.write("Going to sleep")
        deadline = time.monotonic() + options["seconds"]
        swallowed = BaseException if options["catch_everything"] else Exception
        while time.monotonic() < deadline:
            with contextlib.suppress(swallowed):  # the point of this command
                time.sleep(options["step"] or max(deadline - time.monotonic(), 0))
            if options["catch_everything"] and time.monotonic() < deadline:
                break  # caught the interruption: return as if all went well
        self.stdout.write("Woke up")
