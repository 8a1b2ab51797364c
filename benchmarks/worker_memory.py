"""Does a worker's memory stay flat over many runs, beside a bare job on the same kind of worker?

For each worker kind (RQ's forking worker and its SimpleWorker, the package's classes;
Celery's prefork, threads and solo pools) it starts, on a private Redis and a database of
its own, two workers of that kind: one running the task manager's runs of a probe command,
one running bare jobs (an RQ job or a Celery ``shared_task``) that ``call_command`` the same
command. Both get the same number of runs; the resident memory (RSS) of each worker is read
after 10 runs and after 1,000 (``--quick``: 10 and 60). A forking RQ worker's work-horse is
gone after each job, so its parent is measured; Celery's prefork pool child is measured
beside its parent. Each run prints a line and logs one, both naming the run; afterwards
every report must hold exactly its own two lines (none misrouted, missing or doubled).

Prints the figures beside their floors; asserts nothing. Linux only (reads /proc). Usage::

    hatch run bench:python benchmarks/worker_memory.py [--quick] [--db postgres] [--kinds rq-fork]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.memory_probe.drive import KINDS  # noqa: E402
from benchmarks.results import Figure, add_options, report  # noqa: E402

TITLE = "Worker memory over many runs"
# What "flat" allows: growth over the runs at most the bare job's, plus this much.
ALLOWANCE_MIB = 2.0
LABELS = {
    "rq-fork": "rqworker (forking)",
    "rq-simple": "rq SimpleWorker",
    "celery-prefork": "celery prefork",
    "celery-threads": "celery threads x4",
    "celery-solo": "celery solo",
}
FLOORS = {"rq": "bare RQ job", "celery": "bare shared_task"}


def measure(counts: list[int], kinds: list[str], db: str, redis_url: str) -> list[dict]:
    """Measure the kinds, those of each engine in a process of its own, both engines at once.

    Each engine needs its own Django setup; the workers of all kinds run side by side.
    """
    jobs = []
    for engine in dict.fromkeys(KINDS[kind][0] for kind in kinds):
        tag = uuid.uuid4().hex[:8]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.memory_probe.settings",
            "EZTASKMANAGER_TEST_DB": db,
            "EZTASKMANAGER_TEST_DB_NAME": f"bench_eztm_memory_{tag}",
            "EZTM_BENCH_REDIS_URL": redis_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        out = Path(tempfile.mkstemp(prefix=f"eztm-memory-{engine}-", suffix=".json")[1])
        args = [
            *(sys.executable, "-m", "benchmarks.memory_probe.drive"),
            *(kind for kind in kinds if KINDS[kind][0] == engine),
            *("--runs", *map(str, counts), "--prefix", f"memory-{tag}", "--out", str(out)),
        ]
        jobs.append((engine, out, subprocess.Popen(args, env=env, cwd=ROOT)))
    results = []
    for engine, out, process in jobs:
        if process.wait() != 0:
            print(f"{engine}: the measurement failed (exit {process.returncode})", file=sys.stderr)
        elif out.stat().st_size:
            results += json.loads(out.read_text())
        out.unlink()
    return results


def figures(result: dict, first: int, last: int) -> list[Figure]:
    """Each worker process's RSS after ``first`` and ``last`` runs, and the lines' routing."""
    kind = result["kind"]
    label = LABELS[kind]
    floor_name = FLOORS[KINDS[kind][0]]
    before, after = result["rss"][str(first)], result["rss"][str(last)]
    rows = []
    for role in after["eztm"]:
        name = label if role == "worker" else f"{label} {role}"
        rows.append(
            Figure(
                f"{name}: RSS after {first} runs",
                before["eztm"][role],
                "MiB",
                before["bare"][role],
                f"{floor_name}, {first} runs",
            )
        )
        growth = after["eztm"][role] - before["eztm"][role]
        bare_growth = after["bare"][role] - before["bare"][role]
        rows.append(
            Figure(
                f"{name}: RSS after {last} runs",
                after["eztm"][role],
                "MiB",
                after["bare"][role],
                f"{floor_name}, {last} runs",
                target=f"growth <= floor's + {ALLOWANCE_MIB:g} MiB "
                f"({growth:+.1f} vs {bare_growth:+.1f})",
                met=growth <= bare_growth + ALLOWANCE_MIB,
            )
        )
    lines = result["lines"]
    wrong = lines["misrouted"] + lines["missing"] + lines["duplicated"]
    rows.append(
        Figure(
            f"{label}: lines misrouted of {lines['expected']}",
            wrong,
            "lines",
            target=f"0 misrouted, missing or doubled; {lines['not_ok']} runs not ok",
            met=wrong == 0 and lines["not_ok"] == 0,
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--runs", type=int, nargs=2, metavar=("FIRST", "LAST"))
    args = parser.parse_args()
    first, last = args.runs or ((10, 60) if args.quick else (10, 1000))

    from testsupport.redis import running_redis

    with running_redis() as redis_url:
        results = measure([first, last], args.kinds, args.db, redis_url)
    rows = [row for result in results for row in figures(result, first, last)]
    report(f"{TITLE} ({args.db}, {first} -> {last} runs)", rows, args.json)
    missing = set(args.kinds) - {result["kind"] for result in results}
    if missing:
        raise SystemExit(f"not measured: {', '.join(sorted(missing))}")


if __name__ == "__main__":
    main()
