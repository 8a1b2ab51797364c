"""Measure the time from a fault to the run's final state, and keep it for the docs.

Each fault test prints its figure and appends it to ``test-output/faults-celery-<db>.txt``,
so a CI run leaves the numbers the reliability docs quote.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from eztaskmanager.models import LaunchReport
from testsupport.processes import wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
LIVE = "test_livelogging_command"
# A command that logs a line every tenth of a second for as long as a test needs.
LONG_RUN = "--limit=1000,--sleep=0.1,--trace-steps=1"


def database() -> str:
    return os.environ.get("EZTASKMANAGER_TEST_DB", "sqlite")


def record(fault: str, seconds: float | None, detail: str = "") -> None:
    """Print one fault's figure and append it to the database's faults file."""
    figure = "-" if seconds is None else f"{seconds:.2f} s"
    line = f"{fault}: {figure}" + (f" [{detail}]" if detail else "")
    print(f"\nFAULT {line}", flush=True)
    OUTPUT.mkdir(exist_ok=True)
    with (OUTPUT / f"faults-celery-{database()}.txt").open("a") as out:
        out.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}\n")


def seconds_since(report: LaunchReport, instant: datetime) -> float:
    """From ``instant`` (a fault, by this host's clock) to the report's end, written by
    whichever process ended it on this very host."""
    assert report.finished_at is not None
    return (report.finished_at - instant).total_seconds()


def wait_running(report: LaunchReport, explain, lines: int = 3, timeout: float = 30):
    """The report once its run has started and logged ``lines`` lines."""

    def running() -> LaunchReport | None:
        fresh = LaunchReport.objects.get(pk=report.pk)
        started = fresh.state == LaunchReport.STATE_RUNNING and fresh.n_log_lines >= lines
        return fresh if started else None

    return wait_until(running, timeout, f"run {report.pk} to start", explain)


def wait_final(report: LaunchReport, explain, timeout: float) -> LaunchReport:
    """The report once it has ended, polled often so that short times are seen as they are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = LaunchReport.objects.get(pk=report.pk)
        if fresh.state == LaunchReport.STATE_FINISHED:
            return fresh
        time.sleep(0.05)
    raise AssertionError(
        f"run {report.pk} still {fresh.state} after {timeout} s\n{explain() if explain else ''}"
    )
