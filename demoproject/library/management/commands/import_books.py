"""A project command written for eztaskmanager: its log lines are stored with each run, and
its progress shows as bars in the admin's log viewer."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import CommandParser

from eztaskmanager.services.logger import LoggerEnabledCommand

BATCH = 10


class Command(LoggerEnabledCommand):
    help = "Pretend to import books from a catalogue, logging progress and odd records"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=30, help="How many books to import")
        parser.add_argument(
            "--source", default="catalogue.csv", help="Where the books come from (only logged)"
        )
        parser.add_argument("--delay", type=float, default=0.05, help="Seconds spent on each book")

    def handle(self, *args: Any, **options: Any) -> None:
        count, source = options["count"], options["source"]
        self.logger.info("Importing %d books from %s", count, source)
        skipped = 0
        for number in range(1, count + 1):
            time.sleep(options["delay"])
            # Bars in the admin: the whole import, and each batch of ten books under it.
            batch, in_batch = divmod(number - 1, BATCH)
            self.report_progress(number, count, group="Books", status=f"book {number}")
            self.report_progress(
                in_batch + 1,
                min(BATCH, count - batch * BATCH),
                group=("Books", f"batch {batch + 1}"),
            )
            if random.random() < 0.1:
                skipped += 1
                self.logger.warning("Book %d has no ISBN: skipped", number)
                continue
            self.logger.debug("Book %d imported", number)
        self.logger.info("Imported %d books, skipped %d", count - skipped, skipped)
