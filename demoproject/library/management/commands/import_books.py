"""A project command written for eztaskmanager: its log lines are stored with each run, its
progress shows as bars in the admin's log viewer, and it leaves a CSV summary on its report
(an artifact, downloadable from the report's page)."""

from __future__ import annotations

import csv
import io
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
        summary = io.StringIO()
        rows = csv.writer(summary)
        rows.writerow(["book", "status"])
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
                rows.writerow([number, "skipped: no ISBN"])
                continue
            self.logger.debug("Book %d imported", number)
            rows.writerow([number, "imported"])
        self.logger.info("Imported %d books, skipped %d", count - skipped, skipped)
        # Run from a shell, there is no report to attach it to: a warning says so.
        self.add_artifact("import-summary.csv", summary.getvalue())
