"""How long from ``backend.add(task)`` to the command's first line, on a real RQ worker?

Starts a private Redis and one ``manage.py rqworker`` (this package's forking worker, or
the class ``--worker-class`` names, with ``--conn-max-age`` as its ``CONN_MAX_AGE`` and
``--prepare-threshold`` as its ``OPTIONS["prepare_threshold"]`` and this process's), then
measures, side by side with a bare RQ job that calls ``call_command`` itself, on the same
worker:

- latency: one run at a time, from the call that starts it (``add(task)`` or
  ``queue.enqueue``) to the first line of the command (median and p95);
- throughput: 200 trivial runs enqueued at once, until the last one has finished; and
  the ceiling the ``add()`` calls alone put on it, whatever the worker does. Three such
  bursts of ours, three of the bare job's and three of the bare job's that records its
  start and end (two ORM UPDATEs: the least a durable record costs), in turns, the
  median of each (one each with ``--quick``).

Prints each figure beside the bare job's from the same run; asserts nothing. Usage::

    hatch run bench:dispatch-rq [--db sqlite|postgres] [--quick] [--json FILE]
    hatch run bench:dispatch-rq --worker-class eztaskmanager_rq.worker.SimpleWorker --conn-max-age 60
    hatch run bench:dispatch-rq --worker-class ... --conn-max-age 60 --prepare-threshold 5 --db postgres
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dispatch import (  # noqa: E402
    IDLE_PAUSE,
    Burst,
    Run,
    bursts_in_turns,
    figures,
    sizes,
)
from benchmarks.results import add_options, report  # noqa: E402

# The bare job recording its start and end in the database: the floor of any durable record.
RECORDED_JOB = "integration_tests.rq.probe.jobs.call_probe_recorded"


def wait(condition, timeout: float, what: str, worker, interval: float) -> None:
    """Poll ``condition`` every ``interval`` seconds, or fail showing the worker's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}; worker output:\n{worker.output[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="sequential runs for the latency (50; 15 quick)")
    parser.add_argument("--burst", type=int, help="runs for the throughput (200; 60 quick)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--worker-class",
        default="eztaskmanager_rq.worker.Worker",
        help="the RQ worker class, for both kinds of job (default: the forking Worker)",
    )
    parser.add_argument(
        "--conn-max-age", type=int, default=0, help="the worker's CONN_MAX_AGE (default 0)"
    )
    parser.add_argument(
        "--prepare-threshold",
        type=int,
        help="OPTIONS['prepare_threshold'] of the worker and of this process (PostgreSQL; none)",
    )
    add_options(parser)
    args = parser.parse_args()
    if args.prepare_threshold is not None and args.db != "postgres":
        parser.error("--prepare-threshold is PostgreSQL's (psycopg 3): add --db postgres")
    args.runs, args.burst = sizes(args)

    from testsupport.redis import running_redis

    with running_redis() as redis_url:
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        os.environ.update(
            DJANGO_SETTINGS_MODULE="integration_tests.rq.settings",
            EZTASKMANAGER_TEST_DB=args.db,
            # One database per process: two benchmarks on one machine never share it.
            EZTASKMANAGER_TEST_DB_NAME=f"bench_eztm_dispatch_rq_{os.getpid()}",
            EZTASKMANAGER_RQ_REDIS_URL=redis_url,
            EZTASKMANAGER_RQ_QUEUE=queue,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        if args.prepare_threshold is not None:  # read by the settings of both processes
            os.environ["EZTASKMANAGER_TEST_PREPARE_THRESHOLD"] = str(args.prepare_threshold)
        import django

        django.setup()
        from django.db import connection

        test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            run(args, redis_url, queue, test_db)
        finally:
            connection.creation.destroy_test_db(test_db, verbosity=0)


def run(args: argparse.Namespace, redis_url: str, queue: str, test_db: str) -> None:
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    from eztaskmanager.models import AppCommand, LaunchReport, Task
    from eztaskmanager.registry import get_backend
    from testsupport.processes import ManagedProcess

    redis = Redis.from_url(redis_url)
    backend = get_backend()
    bare_queue = Queue(queue, connection=redis)
    command = AppCommand.objects.create(
        name="rq_probe", app_name="integration_tests.rq.probe", active=True
    )
    worker = ManagedProcess.manage(
        "rqworker",
        queue,
        "--verbosity",
        "0",
        "--worker-class",
        args.worker_class,
        env={
            "EZTASKMANAGER_USE_TEST_DB": "1",
            "EZTASKMANAGER_TEST_CONN_MAX_AGE": str(args.conn_max_age),
        },
    )
    try:
        wait(lambda: redis.scard(f"rq:workers:{queue}") == 1, 60, "the worker", worker, 0.1)

        # Latency, one run at a time ------------------------------------------------------
        # A run is over when its job is in RQ's finished registry: the runner has written
        # everything by then. Waiting for that (in Redis) keeps the next run's database
        # writes from queueing behind this one's, and keeps SQLite readers out of the way.
        finished = FinishedJobRegistry(queue, connection=redis)

        def until_finished(start_call, key: str, job_id) -> Run:
            """Run once; time the start call -> first line, the call, and its three legs."""
            time.sleep(IDLE_PAUSE)
            before = finished.count
            started = time.time()
            handle = start_call()
            called = time.time()
            # BLPOP sleeps in Redis until the probe pushes: no busy loop steals the worker's CPU.
            popped = redis.blpop([key], timeout=30)
            if popped is None:
                raise SystemExit(f"the probe never ran; worker output:\n{worker.output[-3000:]}")
            first_line = float(popped[1])
            wait(lambda: finished.count > before, 30, "the end of the job", worker, 0.005)
            job = Job.fetch(job_id(handle), connection=redis)
            queued = job.enqueued_at.replace(tzinfo=timezone.utc).timestamp()
            job_start = job.started_at.replace(tzinfo=timezone.utc).timestamp()
            return {
                "total": first_line - started,
                "call": called - started,
                "to_queue": queued - started,
                "to_job": job_start - queued,
                "in_job": first_line - job_start,
            }

        def eztm_run(i: int) -> Run:
            key = f"probe:eztm:{i}"
            task = Task.objects.create(name=f"probe {i}", command=command, arguments=key)
            return until_finished(
                lambda: backend.add(task),
                key,
                lambda _: LaunchReport.objects.get(task=task).job_id,
            )

        def bare_run(i: int) -> Run:
            key = f"probe:bare:{i}"
            return until_finished(
                lambda: bare_queue.enqueue("integration_tests.rq.probe.jobs.call_probe", key),
                key,
                lambda job: job.id,
            )

        for i in range(3):  # warm the worker's imports and caches
            eztm_run(-1 - i)
            bare_run(-1 - i)
        eztm, bare = [], []
        for i in range(args.runs):  # interleaved, so that drift hits both alike
            eztm.append(eztm_run(i))
            bare.append(bare_run(i))

        # Throughput: bursts of runs enqueued at once, ours and the bare job's in turns ----
        def burst(enqueue_all) -> Burst:
            before = finished.count
            started = time.time()
            enqueue_all()
            called = time.time()
            wait(lambda: finished.count - before >= args.burst, 600, "the burst", worker, 0.01)
            return Burst(args.burst / (time.time() - started), args.burst / (called - started))

        def eztm_burst(turn: int) -> Burst:
            tasks = [
                Task.objects.create(
                    name=f"burst {turn} {i}", command=command, arguments="probe:burst"
                )
                for i in range(args.burst)
            ]
            return burst(lambda: [backend.add(task) for task in tasks])

        def bare_burst(turn: int) -> Burst:
            return burst(
                lambda: [
                    bare_queue.enqueue("integration_tests.rq.probe.jobs.call_probe", "probe:burst")
                    for _ in range(args.burst)
                ]
            )

        def recorded_burst(turn: int) -> Burst:
            record = Task.objects.create(name=f"recorded burst {turn}", command=command)
            return burst(
                lambda: [
                    bare_queue.enqueue(RECORDED_JOB, "probe:burst", record.pk)
                    for _ in range(args.burst)
                ]
            )

        bursts = bursts_in_turns(eztm_burst, bare_burst, recorded_burst, args.quick)
    finally:
        worker.stop()

    report(
        f"Dispatch on one idle RQ worker ({args.db}, {args.runs} runs, burst {args.burst},"
        f" {args.worker_class.rsplit('.', 1)[-1]}, CONN_MAX_AGE={args.conn_max_age}"
        + (
            ""
            if args.prepare_threshold is None
            else f", prepare_threshold={args.prepare_threshold}"
        )
        + ")",
        figures(
            eztm,
            bare,
            bursts,
            ("add()", "queue.enqueue()"),
            "bare RQ job + call_command",
        ),
        args.json,
    )


if __name__ == "__main__":
    main()
