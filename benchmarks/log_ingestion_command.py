"""What does a LoggerEnabledCommand's logging cost a user, run by a real RQ worker?

A fresh ``django-admin startproject`` project gets one app with a ``LoggerEnabledCommand``
that logs N INFO records (default 50,000) through ``self.logger``, the task manager with
its RQ backend, and one ``manage.py rqworker`` (RQ's forking worker, its output to a
file, as under a service manager) on a private Redis and a queue of its own. Alternately,
``--repeat`` times:

- ``task``: the command as a task, started with ``backend.add(task)``: the runner stores
  every record (and, before 0.6's ``LOG_TO_CONSOLE``, printed each one to the console);
- ``bare``: the floor, the same command in a bare RQ job of the same worker
  (``call_command``, a NullHandler on the root logger: nothing stored, nothing printed).

Each is timed by RQ itself (the job's ``started_at`` to ``ended_at``, in the work-horse).

Usage: ``python benchmarks/log_ingestion_command.py --db sqlite|postgres [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import Figure, add_options, report  # noqa: E402
from benchmarks.setup_django import LIBPQ, PG  # noqa: E402

TARGET = 2.0
COMMAND = """
from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Log --records INFO records"

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=1000)

    def handle(self, *args, **options):
        total = options["records"]
        for i in range(total):
            self.logger.info("record %d of %d", i, total)
"""
JOBS = '''
import logging

from django.core.management import call_command


def bare(records):
    """The floor: the command in a plain RQ job, its records going nowhere."""
    null = logging.NullHandler()
    logging.getLogger().addHandler(null)
    try:
        call_command("lognoisily", records=records)
    finally:
        logging.getLogger().removeHandler(null)
'''


def settings_tail(db: str, name: str, redis_url: str, queue: str) -> str:
    if db == "postgres":
        database = {"ENGINE": "django.db.backends.postgresql", "NAME": name, **PG}
    else:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{name}.sqlite3"}
    return textwrap.dedent(
        f"""
        INSTALLED_APPS += ["django_rq", "eztaskmanager", "eztaskmanager_rq", "logbench"]
        DATABASES = {{"default": {database!r}}}
        RQ_QUEUES = {{{queue!r}: {{"URL": {redis_url!r}}}}}
        RQ = {{
            "WORKER_CLASS": "eztaskmanager_rq.worker.Worker",
            "SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler",
        }}
        EZTASKMANAGER = {{"BACKEND": "rq", "OPTIONS": {{"queue": {queue!r}}}}}
        """
    )


def make_project(where: Path, db: str, redis_url: str, queue: str) -> str:
    """``django-admin startproject benchproj`` plus the app; returns the database name."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "benchproj", str(where)], check=True
    )
    app = where / "logbench"
    (app / "management" / "commands").mkdir(parents=True)
    for package in (app, app / "management", app / "management" / "commands"):
        (package / "__init__.py").write_text("")
    (app / "management" / "commands" / "lognoisily.py").write_text(COMMAND)
    (app / "jobs.py").write_text(JOBS)
    name = f"eztm_bench_cmd_{os.getpid()}"
    if db == "sqlite":
        name = str(where / name)
    else:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **LIBPQ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    with open(where / "benchproj" / "settings.py", "a") as settings:
        settings.write(settings_tail(db, name, redis_url, queue))
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--records", type=int, help="default 50,000 (quick: 5,000)")
    parser.add_argument("--repeat", type=int, help="runs of each, alternating (3; quick: 1)")
    add_options(parser)
    args = parser.parse_args()
    records = args.records or (5_000 if args.quick else 50_000)
    repeat = args.repeat or (1 if args.quick else 3)

    from testsupport.redis import running_redis

    with running_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        queue = f"bench-log-{uuid.uuid4().hex[:6]}"
        name = make_project(where, args.db, redis_url, queue)
        try:
            figures = measure(where, redis_url, queue, records, repeat)
        finally:
            if args.db == "postgres":
                import psycopg

                with psycopg.connect(dbname="postgres", autocommit=True, **LIBPQ) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    report(
        f"LoggerEnabledCommand under an RQ worker, {records:,} INFO records, {args.db}",
        figures,
        args.json,
    )


def measure(where: Path, redis_url: str, queue: str, records: int, repeat: int) -> list[Figure]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="benchproj.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(where), env.get("PYTHONPATH")]))
    manage = [sys.executable, str(where / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], check=True, env=env, cwd=where)
    os.environ.update(DJANGO_SETTINGS_MODULE="benchproj.settings")
    sys.path.insert(0, str(where))
    import django

    django.setup()
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from eztaskmanager.models import AppCommand, LaunchReport, Task
    from eztaskmanager.registry import get_backend

    redis = Redis.from_url(redis_url)
    output = open(where / "worker.log", "w")  # noqa: SIM115 (the worker's whole life)
    worker = subprocess.Popen(
        [*manage, "rqworker", queue], env=env, cwd=where, stdout=output, stderr=output
    )
    try:
        deadline = time.monotonic() + 300  # a busy machine starts Django slowly
        while redis.scard(f"rq:workers:{queue}") < 1:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit((where / "worker.log").read_text()[-3000:])
            time.sleep(0.1)
        command = AppCommand.objects.create(app_name="logbench", name="lognoisily", active=True)
        task = Task.objects.create(
            name="log noisily", command=command, arguments=f"--records={records}"
        )
        backend = get_backend()
        bare_queue = Queue(queue, connection=redis)

        def in_job(job_id: str) -> float:
            deadline = time.monotonic() + 600
            while True:
                job = Job.fetch(job_id, connection=redis)
                if job.is_finished and job.ended_at:
                    return (job.ended_at - job.started_at).total_seconds()
                if job.is_failed or time.monotonic() > deadline:
                    raise SystemExit(f"job {job_id} failed:\n{job.exc_info}")
                time.sleep(0.05)

        def task_run() -> float:
            report_ = backend.add(task)
            seconds = in_job(LaunchReport.objects.get(pk=report_.pk).job_id)
            report_.refresh_from_db()
            assert report_.n_log_lines == records, report_.n_log_lines
            return seconds

        def bare_run() -> float:
            return in_job(bare_queue.enqueue("logbench.jobs.bare", records).id)

        bare_run()  # warm the worker's imports
        t_task, t_bare = [], []
        for _ in range(repeat):
            t_bare.append(bare_run())
            t_task.append(task_run())
        echoed = (where / "worker.log").read_text().count(f"of {records}")
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            print("the worker did not stop within 30 s of SIGTERM; its log ends with:")
            print((where / "worker.log").read_text()[-3000:])
        output.close()
    ratios = [t / b for t, b in zip(t_task, t_bare, strict=True)]
    value, floor = statistics.median(t_task), statistics.median(t_bare)
    return [
        Figure(
            f"task run (pairs {min(ratios):.2f}x-{max(ratios):.2f}x; {echoed:,} lines echoed)",
            value,
            "s",
            floor=floor,
            floor_name="bare RQ job, NullHandler",
            target=f"<= {TARGET}x bare job",
            met=value <= TARGET * floor,
        )
    ]


if __name__ == "__main__":
    main()
