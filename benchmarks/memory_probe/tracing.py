"""Where does a worker's memory go over many runs? tracemalloc inside one worker kind.

``python -m benchmarks.memory_probe.tracing rq-simple [--warm 50] [--runs 500] [--db sqlite]``
starts the kind's workers as ``drive.py`` does, warms them, has the worker of the task
manager's runs start tracemalloc (through a job of its own queue, which runs where the
runs do: in a SimpleWorker, a Celery pool child or thread), takes a snapshot, gives it
``--runs`` more runs, takes another, and prints what grew in between. Not for the
forking rqworker: its work-horse is gone after each job.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 12


def start(done: str) -> None:
    """A job: trace allocations from now on in this process."""
    tracemalloc.start(FRAMES)
    Path(done).write_text("started")


def snapshot(path: str) -> None:
    """A job: write the allocations still alive (after a collection) to ``path``."""
    gc.collect()
    tracemalloc.take_snapshot().dump(path + ".part")
    os.replace(path + ".part", path)


def call(pair, job: str, path: Path) -> None:
    """Run ``job`` on the worker of the task manager's runs; wait for the file it writes."""
    from benchmarks.memory_probe.drive import wait

    if pair.engine == "rq":
        from rq import Queue

        Queue(pair.queues["eztm"], connection=pair.redis).enqueue(
            f"benchmarks.memory_probe.tracing.{job}", str(path)
        )
    else:
        pair.backend.app.send_task(
            f"benchmarks.memory_probe.tasks.trace_{job}",
            args=(str(path),),
            queue=pair.queues["eztm"],
        )
    wait([pair], path.exists, f"the {job} job")


def show(first: Path, second: Path, top: int) -> None:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    before = tracemalloc.Snapshot.load(str(first)).filter_traces(ignore)
    after = tracemalloc.Snapshot.load(str(second)).filter_traces(ignore)
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"traced memory grew by {total / 1024:.1f} KiB")
    for stat in after.compare_to(before, "lineno")[:top]:
        print(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}"
        )
    print("\nlargest growth by traceback:")
    for stat in after.compare_to(before, "traceback")[:3]:
        print(f"{stat.size_diff / 1024:+.1f} KiB, {stat.count_diff:+d} blocks")
        for line in stat.traceback.format()[-2 * FRAMES :]:
            print(f"    {line}")


def main() -> None:
    from benchmarks.memory_probe.drive import KINDS, project, run_until, start_pairs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=[kind for kind in KINDS if kind != "rq-fork"])
    parser.add_argument("--warm", type=int, default=50, help="runs before tracing starts")
    parser.add_argument("--runs", type=int, default=500, help="runs between the snapshots")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    from testsupport.redis import running_redis

    with running_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        tag = uuid.uuid4().hex[:8]
        os.environ.update(
            DJANGO_SETTINGS_MODULE="benchmarks.memory_probe.settings",
            EZTASKMANAGER_TEST_DB=args.db,
            EZTASKMANAGER_TEST_DB_NAME=f"bench_eztm_trace_{tag}",
            EZTM_BENCH_REDIS_URL=redis_url,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        with project([args.kind], f"trace-{tag}"):
            from redis import Redis

            (pair,) = start_pairs([args.kind], f"trace-{tag}", Redis.from_url(redis_url))
            try:
                done = run_until([pair], 0, args.warm, 20)
                call(pair, "start", Path(tmp) / "started")
                call(pair, "snapshot", Path(tmp) / "first")
                started = time.monotonic()
                run_until([pair], done, done + args.runs, 20)
                print(f"{args.runs} runs traced in {time.monotonic() - started:.0f} s")
                call(pair, "snapshot", Path(tmp) / "second")
            finally:
                pair.stop()
        show(Path(tmp) / "first", Path(tmp) / "second", args.top)


if __name__ == "__main__":
    main()
