"""How much does storing a run's log in the database cost?

A command logs N INFO records (default 100,000). It runs three ways, in this process:

- ``null``: the command alone, its records going to a NullHandler (the floor);
- ``db``: through the runner, with the batched ``DatabaseLogHandler`` (what users get);
- ``naive``: through a handler doing one INSERT per record (what we avoid).

Usage: ``python benchmarks/log_ingestion.py --db sqlite|postgres [--records N]``.
Prints wall times and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.setup_django import django_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--naive-records", type=int, default=None, help="default: --records")
    args = parser.parse_args()
    with django_project(args.db, ["eztaskmanager"], EZTASKMANAGER={"BACKEND": "immediate"}):
        run(args.db, args.records, args.naive_records or args.records)


def run(db: str, records: int, naive_records: int) -> None:
    from django.core.management import call_command

    from eztaskmanager.models import AppCommand, LaunchReport, Log, Task
    from eztaskmanager.services import run_management_command

    class NaiveHandler(logging.Handler):
        """One INSERT per record."""

        def __init__(self, report_id: int) -> None:
            super().__init__()
            self.report_id, self.line = report_id, 0

        def emit(self, record: logging.LogRecord) -> None:
            from datetime import datetime, timezone

            Log.objects.create(
                launch_report_id=self.report_id,
                line=self.line,
                timestamp=datetime.fromtimestamp(record.created, tz=timezone.utc),
                level=record.levelname,
                message=record.getMessage(),
            )
            self.line += 1

    command = AppCommand.objects.create(
        app_name="eztaskmanager", name="test_livelogging_command", active=True
    )
    arguments = "--limit={n},--trace-steps=1,--sleep=0"
    task = Task.objects.create(name="bench", command=command, arguments=arguments.format(n=records))
    root = logging.getLogger()
    null = logging.NullHandler()
    root.addHandler(null)  # a handler on root: the command adds no console handler

    def timed(fn) -> float:
        began = time.perf_counter()
        fn()
        return time.perf_counter() - began

    options = {"limit": records, "trace_steps": 1, "sleep": 0}
    t_null = timed(lambda: call_command("test_livelogging_command", **options))

    t_db = timed(lambda: run_management_command(task.pk))
    report = LaunchReport.objects.get(task=task)
    assert report.n_log_lines == records + 2, report.n_log_lines

    naive_report = LaunchReport.objects.create(task=task)
    naive = NaiveHandler(naive_report.pk)
    root.addHandler(naive)
    naive_options = dict(options, limit=naive_records)
    t_naive = timed(lambda: call_command("test_livelogging_command", **naive_options))
    root.removeHandler(naive)
    t_naive_scaled = t_naive * records / naive_records

    print(f"log ingestion, {records:,} INFO records, {db}")
    print(f"  NullHandler           {t_null:8.2f} s")
    print(f"  DatabaseLogHandler    {t_db:8.2f} s   {t_db / t_null:5.2f}x NullHandler")
    scaled = f" (scaled from {naive_records:,})" if naive_records != records else ""
    print(
        f"  one INSERT per record {t_naive_scaled:8.2f} s{scaled}   "
        f"{t_naive_scaled / t_db:5.1f}x slower than DatabaseLogHandler"
    )


if __name__ == "__main__":
    main()
