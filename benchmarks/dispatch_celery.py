"""How long from ``backend.add(task)`` to the command's first line, on a real Celery worker?

Starts a private Redis (broker and result backend) and one ``celery worker`` (prefork
pool, one process), then measures, side by side with a bare Celery task that calls
``call_command`` itself:

- latency: one run at a time, from the call that starts it (``add(task)`` or
  ``send_task``) to the first line of the command (median and p95);
- throughput: 200 trivial runs sent at once, until the last one has finished, and the
  ceiling the ``add()`` calls alone put on it, whatever the worker does; three such
  bursts of ours, three of the bare task's and three of the bare task's that records its
  start and end (two ORM UPDATEs: the least a durable record costs), in turns, the
  median of each (one each with ``--quick``);

once for each ``--conn-max-age`` (Django's ``CONN_MAX_AGE`` in the worker: 0, Django's
default, opens a database connection for every run; 60, as the docs advise for workers,
keeps it in the pool process, together with ``CELERY_DB_REUSE_MAX``, without which
Celery's Django fixup closes it around every task all the same), and on PostgreSQL once
more with the connection kept and ``OPTIONS["prepare_threshold"]`` set
(``--prepare-threshold``, 5; 0 leaves it out), in the worker and in this process: the
runs' statements are then prepared (:mod:`eztaskmanager.models.prepared`).

Prints each figure beside the bare task's from the same run; asserts nothing. Usage::

    hatch run bench:python benchmarks/dispatch_celery.py [--db sqlite|postgres] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
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
from benchmarks.results import Figure, add_options, report  # noqa: E402

BARE_TASK = "integration_tests.celery.probe.tasks.call_probe"
# The same, recording its start and end in the database: the floor of any durable record.
RECORDED_TASK = "integration_tests.celery.probe.tasks.call_probe_recorded"
# CELERY_DB_REUSE_MAX of a worker that keeps its connection (CONN_MAX_AGE above 0).
DB_REUSE_MAX = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="sequential runs for the latency (50; 15 quick)")
    parser.add_argument("--burst", type=int, help="runs for the throughput (200; 60 quick)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        nargs="+",
        default=[0, 60],
        help="the worker's CONN_MAX_AGE, one measurement each (0 60)",
    )
    parser.add_argument(
        "--prepare-threshold",
        type=int,
        default=5,
        help="OPTIONS['prepare_threshold'] of one more measurement, connection kept (5; 0: none)",
    )
    add_options(parser)
    args = parser.parse_args()
    args.runs, args.burst = sizes(args)

    from testsupport.redis import running_redis

    with running_redis() as redis_url:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="integration_tests.celery.settings",
            EZTASKMANAGER_TEST_DB=args.db,
            # One database per process: two benchmarks on one machine never share it.
            EZTASKMANAGER_TEST_DB_NAME=f"bench_eztm_dispatch_celery_{os.getpid()}",
            EZTM_CELERY_BROKER_URL=redis_url,
            EZTM_CELERY_RESULT_BACKEND=redis_url,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        import django

        django.setup()
        from django.db import connection

        test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            rows = []
            for max_age in args.conn_max_age:
                rows += run(args, redis_url, max_age)
            if args.prepare_threshold and args.db == "postgres":
                rows += run(args, redis_url, 60, args.prepare_threshold)
        finally:
            connection.creation.destroy_test_db(test_db, verbosity=0)
    report(
        f"Dispatch on one idle Celery prefork worker ({args.db}, {args.runs} runs, "
        f"burst {args.burst})",
        rows,
        args.json,
    )


def run(
    args: argparse.Namespace, redis_url: str, max_age: int, prepare_threshold: int | None = None
) -> list[Figure]:
    from celery.result import AsyncResult
    from django.conf import settings
    from django.db import connection
    from redis import Redis

    from eztaskmanager.models import AppCommand, Task
    from eztaskmanager.registry import get_backend
    from testsupport.processes import ManagedProcess

    redis = Redis.from_url(redis_url)
    backend = get_backend()
    app = backend.app
    command, _ = AppCommand.objects.get_or_create(
        name="celery_probe", app_name="integration_tests.celery.probe", active=True
    )
    worker = ManagedProcess(
        [
            sys.executable,
            *("-m", "celery", "-A", "integration_tests.celery.proj", "worker"),
            *("--pool=prefork", "--concurrency=1", f"--queues={settings.QUEUE}"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"),
        ],
        env={
            "EZTASKMANAGER_USE_TEST_DB": "1",
            "EZTASKMANAGER_TEST_CONN_MAX_AGE": str(max_age),
            **({"EZTASKMANAGER_TEST_DB_REUSE_MAX": str(DB_REUSE_MAX)} if max_age else {}),
            **(
                {"EZTASKMANAGER_TEST_PREPARE_THRESHOLD": str(prepare_threshold)}
                if prepare_threshold
                else {}
            ),
        },
    )
    # This process's add() calls prepare their statements alike, or not.
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    if prepare_threshold:
        options["prepare_threshold"] = prepare_threshold
    else:
        options.pop("prepare_threshold", None)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or not worker.alive():
                raise SystemExit(f"the worker did not start:\n{worker.output[-3000:]}")

        # Latency, one run at a time ------------------------------------------------------
        # A run is over when Celery has its result: the runner has written everything by
        # then, so the next run's database writes do not queue behind this one's.
        def until_finished(start_call, key: str) -> Run:
            """Run once; time the start call -> first line, and the start call alone."""
            time.sleep(IDLE_PAUSE)
            started = time.time()
            job_id = start_call()
            called = time.time()
            # BLPOP sleeps in Redis until the probe pushes: no busy loop steals the CPU.
            popped = redis.blpop([key], timeout=30)
            if popped is None:
                raise SystemExit(f"the probe never ran; worker output:\n{worker.output[-3000:]}")
            AsyncResult(job_id, app=app).get(timeout=30, propagate=False)
            return {"total": float(popped[1]) - started, "call": called - started}

        def eztm_run(i: int) -> Run:
            key = f"probe:eztm:{max_age}:{i}"
            task = Task.objects.create(name=f"probe {max_age} {i}", command=command, arguments=key)
            return until_finished(lambda: backend.add(task).job_id, key)

        def bare_run(i: int) -> Run:
            key = f"probe:bare:{max_age}:{i}"
            return until_finished(
                lambda: app.send_task(BARE_TASK, args=(key,), queue=settings.QUEUE).id, key
            )

        for i in range(3):  # warm the worker's imports and caches
            eztm_run(-1 - i)
            bare_run(-1 - i)
        eztm, bare = [], []
        for i in range(args.runs):  # interleaved, so that drift hits both alike
            eztm.append(eztm_run(i))
            bare.append(bare_run(i))

        # Throughput: bursts of runs sent at once, ours and the bare task's in turns -----
        def burst(send_all) -> Burst:
            started = time.time()
            job_ids = send_all()
            called = time.time()
            for job_id in job_ids:
                AsyncResult(job_id, app=app).get(timeout=600, propagate=False)
            return Burst(args.burst / (time.time() - started), args.burst / (called - started))

        def eztm_burst(turn: int) -> Burst:
            tasks = [
                Task.objects.create(
                    name=f"burst {max_age} {turn} {i}", command=command, arguments="probe:burst"
                )
                for i in range(args.burst)
            ]
            return burst(lambda: [backend.add(task).job_id for task in tasks])

        def bare_burst(turn: int) -> Burst:
            return burst(
                lambda: [
                    app.send_task(BARE_TASK, args=("probe:burst",), queue=settings.QUEUE).id
                    for _ in range(args.burst)
                ]
            )

        def recorded_burst(turn: int) -> Burst:
            record = Task.objects.create(name=f"recorded burst {max_age} {turn}", command=command)
            return burst(
                lambda: [
                    app.send_task(
                        RECORDED_TASK, args=("probe:burst", record.pk), queue=settings.QUEUE
                    ).id
                    for _ in range(args.burst)
                ]
            )

        bursts = bursts_in_turns(eztm_burst, bare_burst, recorded_burst, args.quick)
    finally:
        worker.stop()

    rows = figures(
        eztm,
        bare,
        bursts,
        ("add()", "send_task()"),
        "bare Celery task + call_command",
    )
    kept = f"CONN_MAX_AGE={max_age}" + (f", DB_REUSE_MAX={DB_REUSE_MAX}" if max_age else "")
    if prepare_threshold:
        kept += f", prepare_threshold={prepare_threshold}"
    for row in rows:
        row.name = f"{kept}: {row.name}"
    return rows


if __name__ == "__main__":
    main()
