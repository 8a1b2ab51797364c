"""What does the runner add to each run, in a worker process that keeps its connection?

A queued run of a command that prints one line goes through ``run_management_command``
(its start, its log, its end: every statement a run makes in its worker), alternately
with ``call_command`` of the same command alone (the floor), in this process, with
``CONN_MAX_AGE`` set so that the connection is kept as a ``SimpleWorker`` or a Celery
worker with ``CELERY_DB_REUSE_MAX`` keeps it. No queue engine is involved: the
difference is the runner's own cost, what the dispatch benchmarks see inside the worker.

On PostgreSQL the runs go in alternating blocks, each on a new connection: with
Django's default (values bound into the SQL text, nothing prepared) and with
``OPTIONS["prepare_threshold"]`` set, which lets the runner's statements be prepared
(:mod:`eztaskmanager.models.prepared`).

Usage: ``python benchmarks/run_cost.py --db sqlite|postgres [--runs N] [--quick]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.results import Figure, add_options, report
from benchmarks.setup_django import django_project

COMMAND = "test_stdout_command"
# Runs at the start of each block, not counted: imports, compiled statements and caches
# warm by then, and psycopg has prepared the statements (after PREPARE_THRESHOLD runs)
# and PostgreSQL settled on their plans (after five executions).
WARM_UP = 8
BLOCKS = 5
PREPARE_THRESHOLD = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, help="runs of each way, alternating (300; 50 quick)")
    add_options(parser)
    args = parser.parse_args()
    runs = args.runs or (50 if args.quick else 300)
    with django_project(args.db, ["eztaskmanager"]):
        figures = measure(runs)
    report(
        f"The runner's cost per run, connection kept ({args.db}, {runs} runs)",
        figures,
        args.json,
    )


def measure(runs: int) -> list[Figure]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from eztaskmanager.models import AppCommand, Task
    from eztaskmanager.services.runner import run_management_command

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    options = connection.settings_dict["OPTIONS"]
    ways = {"default": None}
    if connection.vendor == "postgresql":
        ways["prepared"] = PREPARE_THRESHOLD
    per_block = max(1, runs // BLOCKS)
    command = AppCommand.objects.create(name=COMMAND, app_name="eztaskmanager", active=True)
    tasks = iter(
        [
            Task.objects.create(name=f"run {i}", command=command)
            for i in range(len(ways) * BLOCKS * (per_block + WARM_UP))
        ]
    )

    def through_runner(task: Task) -> float:
        job_id = uuid.uuid4().hex
        task.queue_run(job_id)
        started = time.perf_counter()
        report = run_management_command(task.pk, job_id)
        elapsed = time.perf_counter() - started
        if report is None or report.invocation_result != report.RESULT_OK:
            raise SystemExit(f"the run of task {task.pk} did not end ok: {report}")
        return elapsed

    def alone() -> float:
        started = time.perf_counter()
        call_command(COMMAND, stdout=io.StringIO(), stderr=io.StringIO())
        return time.perf_counter() - started

    runner: dict[str, list[float]] = {way: [] for way in ways}
    bare: list[float] = []
    for _block in range(BLOCKS):
        for way, threshold in ways.items():
            if threshold is None:
                options.pop("prepare_threshold", None)
            else:
                options["prepare_threshold"] = threshold
            connection.close()  # the next connection is opened with these options
            for i in range(WARM_UP + per_block):
                elapsed = through_runner(next(tasks)), alone()
                if i >= WARM_UP:
                    runner[way].append(elapsed[0])
                    bare.append(elapsed[1])
    bare_ms = statistics.median(bare) * 1000
    default_ms = statistics.median(runner["default"]) * 1000
    figures = [
        Figure("a run through the runner, median", default_ms, "ms", bare_ms, "call_command"),
        Figure("what the runner adds, median", default_ms - bare_ms, "ms"),
    ]
    if "prepared" in runner:
        prepared_ms = statistics.median(runner["prepared"]) * 1000
        figures += [
            Figure(
                f"the same, prepare_threshold={PREPARE_THRESHOLD}, median",
                prepared_ms,
                "ms",
                bare_ms,
                "call_command",
            ),
            Figure("what the runner adds then, median", prepared_ms - bare_ms, "ms"),
        ]
    return figures


if __name__ == "__main__":
    main()
