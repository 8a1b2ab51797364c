"""Measure worker kinds of one engine: ``python -m benchmarks.memory_probe.drive rq-fork rq-simple``.

Run by ``benchmarks/worker_memory.py`` in a process of its own (one Django setup per
engine), with the environment that :mod:`benchmarks.memory_probe.settings` reads. For each
kind it starts two workers, one for the task manager's runs and one for bare jobs calling
the same command, feeds every worker the same number of runs in chunks, and reads each
worker's resident memory whenever a count of runs is reached. Then it checks that each
run's report holds exactly the two lines that name that run. Writes JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django

from testsupport.processes import child_pids

# How each kind's worker is started: the engine, then the worker class or the pool.
KINDS: dict[str, tuple[str, list[str]]] = {
    "rq-fork": ("rq", ["--worker-class", "eztaskmanager_rq.worker.Worker"]),
    "rq-simple": ("rq", ["--worker-class", "eztaskmanager_rq.worker.SimpleWorker"]),
    "celery-prefork": ("celery", ["--pool=prefork", "--concurrency=1"]),
    "celery-threads": ("celery", ["--pool=threads", "--concurrency=4"]),
    "celery-solo": ("celery", ["--pool=solo"]),
}
CELERY_APP = "benchmarks.memory_probe.celery_app"
BARE_JOB = "benchmarks.memory_probe.jobs.call_probe"
BARE_TASK = "benchmarks.memory_probe.tasks.call_probe"
LINE = re.compile(r"memprobe (\S+) (print|log)")
# Seconds left to the workers after their last run, before their memory is read.
SETTLE = 1.0
TIMEOUT = 300.0


def rss_mib(pid: int) -> float:
    """The resident set size of process ``pid``, in MiB (Linux's /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def queues(prefix: str, kind: str) -> dict[str, str]:
    return {"eztm": f"{prefix}-{kind}", "bare": f"{prefix}-{kind}-bare"}


class Pair:
    """The two workers of one kind: ``eztm`` runs the task manager's runs, ``bare`` bare jobs."""

    def __init__(self, kind: str, prefix: str, redis: Any) -> None:
        from eztaskmanager.models import AppCommand
        from eztaskmanager.registry import build_backend
        from testsupport.processes import ManagedProcess

        self.kind = kind
        self.redis = redis
        self.engine, options = KINDS[kind]
        self.queues = queues(prefix, kind)
        self.done = {label: f"{queue}:done" for label, queue in self.queues.items()}
        self.backend = build_backend(
            {"BACKEND": self.engine, "OPTIONS": {**self.options(), "queue": self.queues["eztm"]}}
        )
        self.command, _ = AppCommand.objects.get_or_create(
            name="memory_probe", app_name="benchmarks.memory_probe", defaults={"active": True}
        )
        env = {"EZTASKMANAGER_USE_TEST_DB": "1"}
        self.processes = {}
        for label, queue in self.queues.items():
            if self.engine == "rq":
                self.processes[label] = ManagedProcess.manage("rqworker", queue, *options, env=env)
            else:
                self.processes[label] = ManagedProcess(
                    [
                        *(sys.executable, "-m", "celery", "-A", CELERY_APP, "worker", *options),
                        *(f"--queues={queue}", f"--hostname={queue}@%h", "--loglevel=WARNING"),
                        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                    ],
                    env=env,
                )

    @staticmethod
    def options() -> dict[str, Any]:
        from django.conf import settings

        return settings.EZTASKMANAGER["OPTIONS"]

    def ready(self, pongs: set[str]) -> bool:
        if self.engine == "rq":
            return all(self.redis.scard(f"rq:workers:{q}") == 1 for q in self.queues.values())
        return all(f"{q}@{socket.gethostname()}" in pongs for q in self.queues.values())

    def start(self, i: int) -> None:
        """Start run ``i`` on both workers."""
        from eztaskmanager.models import Task

        token = f"{self.kind}/eztm/{i}"
        task = Task.objects.create(
            name=token, command=self.command, arguments=f"{token},{self.done['eztm']}"
        )
        self.backend.add(task)
        bare = (f"{self.kind}/bare/{i}", self.done["bare"])
        if self.engine == "rq":
            from rq import Queue

            Queue(self.queues["bare"], connection=self.redis).enqueue(BARE_JOB, *bare)
        else:
            self.backend.app.send_task(BARE_TASK, args=bare, queue=self.queues["bare"])

    def finished(self) -> int:
        """How many runs both workers have finished (a run's report is written last)."""
        from eztaskmanager.models import LaunchReport

        reports = LaunchReport.objects.filter(arguments__startswith=f"{self.kind}/")
        return min(
            *(self.redis.llen(key) for key in self.done.values()),
            reports.exclude(finished_at=None).count(),
        )

    def memory(self) -> dict[str, dict[str, float]]:
        """Each worker's RSS; a prefork pool's children too (an RQ work-horse is gone by now)."""
        figures = {}
        for label, process in self.processes.items():
            pid = process.process.pid
            figures[label] = {"worker": rss_mib(pid)}
            if self.kind == "celery-prefork":
                figures[label]["pool child"] = sum(rss_mib(child) for child in child_pids(pid))
        return figures

    def alive(self) -> bool:
        return all(process.alive() for process in self.processes.values())

    def output(self) -> str:
        return "\n".join(
            f"--- {self.kind} {label}:\n{p.output[-3000:]}" for label, p in self.processes.items()
        )

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def wait(pairs: list[Pair], condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline or not all(pair.alive() for pair in pairs):
            output = "\n".join(pair.output() for pair in pairs)
            raise SystemExit(f"timed out waiting for {what}:\n{output}")
        time.sleep(0.2)


def pongs(pairs: list[Pair]) -> set[str]:
    celery = [pair for pair in pairs if pair.engine == "celery"]
    if not celery:
        return set()
    return {name for reply in celery[0].backend.app.control.ping(timeout=0.5) for name in reply}


def routing(kind: str) -> dict[str, int]:
    """Check that each report of ``kind`` holds exactly its own two lines: count the rest."""
    from eztaskmanager.models import LaunchReport, Log

    reports = LaunchReport.objects.filter(arguments__startswith=f"{kind}/")
    own = {pk: arguments.split(",")[0] for pk, arguments in reports.values_list("pk", "arguments")}
    seen: dict[int, Counter] = {pk: Counter() for pk in own}
    misrouted = 0
    lines = Log.objects.filter(launch_report__in=reports, message__contains="memprobe ")
    for report_id, message in lines.values_list("launch_report_id", "message"):
        match = LINE.search(message)
        if match is None or match[1] != own[report_id]:
            misrouted += 1
        else:
            seen[report_id][match[2]] += 1
    results = Counter(reports.values_list("invocation_result", flat=True))
    return {
        "expected": 2 * len(own),
        "misrouted": misrouted,
        "missing": sum(
            1 for counts in seen.values() for kind in ("print", "log") if not counts[kind]
        ),
        "duplicated": sum(n - 1 for counts in seen.values() for n in counts.values() if n > 1),
        "not_ok": sum(n for result, n in results.items() if result != LaunchReport.RESULT_OK),
    }


def start_pairs(kinds: list[str], prefix: str, redis: Any) -> list[Pair]:
    """Start the workers of ``kinds`` and wait until every one of them listens."""
    pairs: list[Pair] = []
    try:
        for kind in kinds:
            pairs.append(Pair(kind, prefix, redis))

        def ready() -> bool:
            replies = pongs(pairs)
            return all(pair.ready(replies) for pair in pairs)

        wait(pairs, ready, "the workers")
    except BaseException:
        for pair in pairs:
            pair.stop()
        raise
    return pairs


def run_until(pairs: list[Pair], done: int, total: int, chunk: int) -> int:
    """Give every worker runs ``done`` to ``total``, ``chunk`` at a time; return ``total``."""
    while done < total:
        batch = range(done, min(total, done + chunk))
        for i in batch:
            for pair in pairs:
                pair.start(i)
        done = batch.stop
        wait(pairs, lambda n=done: all(p.finished() >= n for p in pairs), f"{done} runs")
    return done


def measure(kinds: list[str], prefix: str, counts: list[int], chunk: int) -> list[dict]:
    from django.conf import settings
    from redis import Redis

    redis = Redis.from_url(settings.REDIS_URL)
    rss: dict[str, dict[int, Any]] = {kind: {} for kind in kinds}
    pairs = start_pairs(kinds, prefix, redis)
    try:
        started = time.monotonic()
        done = 0
        for total in counts:
            done = run_until(pairs, done, total, chunk)
            print(
                f"{', '.join(kinds)}: {total} runs, {time.monotonic() - started:.0f} s", flush=True
            )
            time.sleep(SETTLE)
            for pair in pairs:
                rss[pair.kind][total] = pair.memory()
    finally:
        for pair in pairs:
            pair.stop()
    return [{"kind": kind, "rss": rss[kind], "lines": routing(kind)} for kind in kinds]


@contextmanager
def project(kinds: list[str], prefix: str) -> Iterator[None]:
    """Set Django up for the engine of ``kinds`` (one), on a test database made for the block."""
    engines = {KINDS[kind][0] for kind in kinds}
    if len(engines) != 1:
        raise SystemExit("the kinds of one measurement share one engine")
    os.environ["EZTM_BENCH_ENGINE"] = engines.pop()
    os.environ["EZTM_BENCH_QUEUES"] = ",".join(
        queue for kind in kinds for queue in queues(prefix, kind).values()
    )
    django.setup()
    from django.db import connection

    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="+", choices=KINDS)
    parser.add_argument("--runs", type=int, nargs="+", required=True)
    parser.add_argument("--chunk", type=int, default=20)
    parser.add_argument("--prefix", required=True, help="names this measurement's queues")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with project(args.kinds, args.prefix):
        result = measure(args.kinds, args.prefix, args.runs, args.chunk)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
