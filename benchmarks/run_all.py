"""Run every benchmark on SQLite and PostgreSQL and print one Markdown table of their figures.

Each script of :data:`SCRIPTS` that exists runs as a subprocess with ``--json FILE`` (and
``--quick``, ``--db``), one database at a time; its rows (see ``benchmarks/results.py``)
go into one table, each figure beside its floor from the same run, under a line saying
what machine ran them. A script that fails is a row of the table, not the end of the run;
its output goes to stderr, as every script's does once it has finished. Usage::

    hatch run bench:all [--quick] [--db sqlite postgres] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402
from benchmarks.table import Row, failure_row, markdown  # noqa: E402

HERE = Path(__file__).resolve().parent
# In the order of the table (the order of the list of figures).
SCRIPTS = [
    "log_ingestion.py",
    "log_ingestion_command.py",
    "dispatch_rq.py",
    "dispatch_celery.py",
    "run_cost.py",
    "log_viewer.py",
    "task_changelist.py",
    "schedulers.py",
    "worker_memory.py",
]


def interrupt(process: subprocess.Popen) -> None:
    """SIGINT the process's group (its ``finally`` blocks run), SIGKILL it a minute later."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def call(args: list[str], timeout: float) -> tuple[str, str]:
    """Run ``args`` in a process group of its own; its output, and why it failed (or "").

    Past ``timeout`` the group gets SIGINT, so that the script stops the workers it started
    in its ``finally`` blocks, then SIGKILL if it is still there a minute later.
    """
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = process.wait(timeout)
            failure = f"exit {code}" if code else ""
        except subprocess.TimeoutExpired:
            failure = f"no end after {timeout:g} s"
            interrupt(process)
        except KeyboardInterrupt:
            interrupt(process)
            raise
        log.seek(0)
        return log.read().decode(errors="replace"), failure


def run_script(script: str, db: str, quick: bool, timeout: float) -> tuple[list[Row], float]:
    """Run one script on ``db``; its figures as rows (one failure row if it fails), and its time."""
    with tempfile.TemporaryDirectory(prefix="eztm-bench-") as tmp:
        out = Path(tmp) / "figures.json"
        args = [sys.executable, str(HERE / script), "--json", str(out), "--db", db]
        started = time.monotonic()
        output, failure = call(args + (["--quick"] if quick else []), timeout)
        took = time.monotonic() - started
        sys.stderr.write(f"\n=== {script} --db {db} ({took:.0f} s)\n{output}")
        rows = (
            [Row.from_json(script, db, row) for row in json.loads(out.read_text())]
            if (out.exists() and out.stat().st_size)
            else []
        )
    if failure or not rows:
        rows.append(failure_row(script, db, failure or "no figures written", output))
    return rows, took


def unlisted() -> list[str]:
    """Benchmark scripts in this folder that :data:`SCRIPTS` does not name (so not run)."""
    return sorted(
        path.name
        for path in HERE.glob("*.py")
        if path.name not in [*SCRIPTS, Path(__file__).name]
        and "add_options(parser)" in path.read_text()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each script's small run")
    parser.add_argument(
        "--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--only", nargs="+", metavar="SCRIPT", help="run only these scripts")
    parser.add_argument("--timeout", type=float, help="seconds each script may take")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    chosen = [s for s in SCRIPTS if not args.only or s in args.only or s[:-3] in args.only]
    present = [s for s in chosen if (HERE / s).exists()]
    missing = [s for s in chosen if s not in present]
    timeout = args.timeout or (900.0 if args.quick else 4 * 3600.0)
    header = describe(args.db, quick=args.quick)
    rows: list[Row] = []
    times: list[str] = []
    for script in present:
        for db in args.db:
            script_rows, took = run_script(script, db, args.quick, timeout)
            rows += script_rows
            times.append(f"{script} {db} {took:.0f} s")
    text = markdown(header, rows, missing, times, unlisted())
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
