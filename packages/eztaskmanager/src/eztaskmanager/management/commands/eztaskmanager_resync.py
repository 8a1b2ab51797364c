"""End the runs whose worker is gone and book again the schedules the queue engine lost.

Workers and schedulers do this by themselves when they start and on their ticks; this
command does it on demand, or from cron. It is idempotent: on a healthy system it says
there was nothing to do.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eztaskmanager.exceptions import EzTaskManagerError
from eztaskmanager.services.recovery import reap, resync


class Command(BaseCommand):
    help = (
        "End the runs whose worker is gone (no heartbeat, process or job) and book again "
        "the schedules the queue engine lost; print what was fixed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--runs-only", action="store_true", help="Only end lost runs; leave schedules."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = reap()
            if not options["runs_only"]:
                done += resync()
        except EzTaskManagerError as exc:
            raise CommandError(str(exc)) from exc
        for line in done:
            self.stdout.write(line)
        if not done and options["verbosity"] >= 1:
            self.stdout.write(
                "Nothing to fix: every run has a live worker, every schedule is booked."
            )
