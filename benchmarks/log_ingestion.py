"""How much does storing a run's log in the database cost?

A command logs N INFO records (default 100,000). It runs three ways, in this process:

- ``null``: the command alone, its records going to a NullHandler (the floor);
- ``db``: through the runner, with the batched ``DatabaseLogHandler`` (what users get);
- ``naive``: through a handler doing one INSERT per record (what we avoid), on fewer
  records, scaled.

``null`` and ``db`` alternate ``--repeat`` times; the medians are compared.

Usage: ``python benchmarks/log_ingestion.py --db sqlite|postgres [--records N] [--quick]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.results import Figure, add_options, report
from benchmarks.setup_django import django_project

TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--records", type=int, default=None, help="default 100,000 (quick: 20,000)")
    parser.add_argument(
        "--naive-records", type=int, default=None, help="default 1,000 (quick: 200)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way, alternating")
    add_options(parser)
    args = parser.parse_args()
    records = args.records or (20_000 if args.quick else 100_000)
    naive_records = args.naive_records or (200 if args.quick else 1_000)
    with django_project(args.db, ["eztaskmanager"], EZTASKMANAGER={"BACKEND": "immediate"}):
        figures = run(records, naive_records, args.repeat)
    report(f"log ingestion, {records:,} INFO records, {args.db}", figures, args.json)


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def run(records: int, naive_records: int, repeat: int) -> list[Figure]:
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
    arguments = f"--limit={records},--trace-steps=1,--sleep=0"
    task = Task.objects.create(name="bench", command=command, arguments=arguments)
    root = logging.getLogger()
    null = logging.NullHandler()
    root.addHandler(null)  # a handler on root: the command adds no console handler
    options = {"limit": records, "trace_steps": 1, "sleep": 0}

    def through_runner() -> None:
        report_ = run_management_command(task.pk)
        assert report_.n_log_lines == records + 2, report_.n_log_lines

    t_null, t_db = [], []
    for _ in range(repeat):
        t_null.append(timed(lambda: call_command("test_livelogging_command", **options)))
        t_db.append(timed(through_runner))

    naive_report = LaunchReport.objects.create(task=task)
    naive = NaiveHandler(naive_report.pk)
    root.addHandler(naive)
    naive_options = dict(options, limit=naive_records)
    t_naive = timed(lambda: call_command("test_livelogging_command", **naive_options))
    root.removeHandler(naive)

    floor, value = statistics.median(t_null), statistics.median(t_db)
    ratios = [db / null for db, null in zip(t_db, t_null, strict=True)]
    spread = f"pairs {min(ratios):.2f}x-{max(ratios):.2f}x"
    return [
        Figure(
            f"DatabaseLogHandler ({spread})",
            value,
            "s",
            floor=floor,
            floor_name="NullHandler",
            target=f"<= {TARGET}x NullHandler",
            met=value <= TARGET * floor,
        ),
        Figure(
            f"one INSERT per record (scaled from {naive_records:,})",
            t_naive * records / naive_records,
            "s",
            floor=value,
            floor_name="DatabaseLogHandler",
        ),
    ]


if __name__ == "__main__":
    main()
