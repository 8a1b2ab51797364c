"""What do the schedulers cost at 10,000 hourly tasks, none due, beside the engines' own?

Celery: the package's beat scheduler (``eztaskmanager_celery.beat:TaskScheduler``) and
Celery's own ``celery.beat.Scheduler`` holding as many entries, each run the way
``celery beat --max-interval 5`` runs it (tick, sleep what it says) for a while, with one
more entry armed to come due a few seconds after it starts. Figures: the tick (median,
p95), how late the due entry's message reaches the broker, and the CPU the loop's thread
spent over the whole while (the database server's own work is not counted).

Also the SQL statements (``CaptureQueriesContext``) the beat sends to fire one due time of
a periodic task, the read of its tick included.

RQ: the package's rq-scheduler class (``eztaskmanager_rq.scheduler.Scheduler``) and
rq-scheduler's own, both ticking (``enqueue_jobs``) over the same 10,000 jobs, none due;
then each run as ``rqscheduler --interval 5`` runs it, with one more job due a few seconds
after it starts: how late that job reaches its queue.

Both: the periodic look for lost schedules (``recovery.resync``, every 30 s in a beat or an
rqscheduler), beside the bare read of the scheduled tasks' handles. Asserts nothing.

Usage::

    hatch run bench:python benchmarks/schedulers.py [--db sqlite|postgres] [--engine celery|rq]
        [--tasks 10000] [--conn-max-age SECONDS] [--quick] [--json FILE]

``--conn-max-age``: Django's ``CONN_MAX_AGE`` (0 by default, as in Django: the schedulers
then open a database connection on each tick; more keeps it between ticks).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import Figure, add_options, report  # noqa: E402
from benchmarks.setup_django import django_project  # noqa: E402
from testsupport.redis import running_redis  # noqa: E402

APPS = ["django_rq", "eztaskmanager", "eztaskmanager_celery", "eztaskmanager_rq"]
# Queues of this run's own (its Redis is private too).
CELERY_QUEUE = "bench-beat"
FLOOR_QUEUE = "bench-beat-floor"
RQ_QUEUE = "bench-rqscheduler"
# The loop's longest sleep, as `celery beat --max-interval 5`; the one due entry is due
# this long after it is armed, just before the loop starts (sooner with --quick).
MAX_INTERVAL = 5.0
DUE_IN = 6.0
TARGET_TICK_MS = 50.0
# Ticks a loop runs at least, the first one (which starts the beat) included.
MIN_TICKS = 4
TARGET_LATE_MS = 100.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(fraction * (len(ordered) - 1)), len(ordered) - 1)]


def timed(call: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


# The tasks -------------------------------------------------------------------------------
def make_tasks(n: int) -> list:
    """``n`` hourly tasks, armed on their first due time, 10 to 60 minutes from now."""
    from eztaskmanager.models import AppCommand, Task

    command, _made = AppCommand.objects.get_or_create(
        name="check", app_name="django.core", defaults={"active": True}
    )
    now = _now()
    tasks = []
    for i in range(n):
        first = now + timedelta(seconds=600 + i * 3000 / n)
        tasks.append(
            Task(
                name=f"hourly {i}",
                command=command,
                scheduling=first,
                repetition_period=Task.REPETITION_PERIOD_HOUR,
                repetition_rate=1,
                status=Task.STATUS_SCHEDULED,
                cached_next_ride=first,
            )
        )
    return Task.objects.bulk_create(tasks, batch_size=500)


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def read_handles() -> None:
    """The floor of a look for lost schedules: the scheduled tasks' handles, read bare."""
    from eztaskmanager.models import Task

    list(Task.objects.exclude(scheduled_job_id="").values_list("pk", "scheduled_job_id"))


def resync_figure(runs: int) -> Figure:
    from eztaskmanager.registry import get_backend
    from eztaskmanager.services.recovery import resync

    backend = get_backend()
    ours = statistics.median(timed(lambda: resync(backend)) for _ in range(runs))
    floor = statistics.median(timed(read_handles) for _ in range(runs))
    return Figure("look for lost schedules (resync)", ours, "ms", floor, "bare read of the handles")


# Celery ------------------------------------------------------------------------------------
class Loop:
    """Run a beat scheduler as ``celery beat`` does (tick, sleep) in a thread, timing it."""

    def __init__(self, scheduler, max_interval: float) -> None:
        self.scheduler = scheduler
        self.max_interval = max_interval
        self.ticks: list[float] = []
        self.cpu = 0.0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from django.db import connections

        cpu = time.thread_time()
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                wait = self.scheduler.tick()
                self.ticks.append((time.perf_counter() - started) * 1000)
                self.stop.wait(min(max(wait, 0.0), self.max_interval))
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.cpu = time.thread_time() - cpu
            connections.close_all()


def run_loop(scheduler, seconds: float, max_interval: float, due=None) -> tuple:
    """Loop ``scheduler`` for ``seconds``; with ``due`` (``(epoch, queue, redis)`` of the
    one entry armed), also time when its message reaches the broker. Return (the tick
    times in ms after the first, which starts the beat; ms late; CPU % of a core)."""
    loop = Loop(scheduler, max_interval)
    started = time.perf_counter()
    loop.thread.start()
    late = None
    if due is not None:
        at, queue, redis = due
        popped = redis.blpop([queue], timeout=max(int(seconds), 1))
        late = (time.time() - at) * 1000 if popped is not None else float("nan")
    # At least a few ticks after the first, however slow the machine.
    while time.perf_counter() - started < seconds or len(loop.ticks) < MIN_TICKS:
        if loop.error is not None or time.perf_counter() - started > 20 * seconds:
            break
        time.sleep(0.05)
    loop.stop.set()
    loop.thread.join(120)
    if loop.error is not None:
        raise SystemExit(f"{type(scheduler).__name__} failed: {loop.error!r}")
    return loop.ticks[1:], late, loop.cpu / (time.perf_counter() - started) * 100


def celery_floor(app, n: int, max_interval: float):
    """Celery's own scheduler holding ``n`` hourly entries, due 10 to 60 minutes from now."""
    from celery.beat import Scheduler

    scheduler = Scheduler(app=app, max_interval=max_interval)
    entry = {
        "task": "bench.noop",
        "schedule": timedelta(hours=1),
        "options": {"queue": FLOOR_QUEUE},
    }
    scheduler.update_from_dict({f"hourly {i}": entry for i in range(n)})
    now = app.now()
    for i, name in enumerate(f"hourly {i}" for i in range(n)):
        scheduler.schedule[name].last_run_at = now - timedelta(seconds=3000 - i * 3000 / n)
    return scheduler


def bench_celery(args: argparse.Namespace, redis_url: str) -> list[Figure]:
    from celery import Celery
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat
    from django.test import override_settings
    from redis import Redis

    from eztaskmanager.models import AppCommand, Task
    from eztaskmanager.registry import get_backend

    redis = Redis.from_url(redis_url, socket_timeout=None)
    app = Celery("bench", broker=redis_url, set_as_current=False)
    app.conf.update(beat_schedule={})
    options = {"app": app, "queue": CELERY_QUEUE}
    with override_settings(EZTASKMANAGER={"BACKEND": "celery", "OPTIONS": options}):
        from eztaskmanager_celery.beat import TaskScheduler

        tasks = make_tasks(args.tasks)
        Task.objects.filter(pk__in=[t.pk for t in tasks]).update(
            scheduled_job_id=Concat(Value("beat:"), Cast("pk", CharField()))
        )
        # Both publish on a warm connection, as a beat that has run a while does.
        app.send_task("bench.noop", queue="bench-warm")
        with get_backend().connection(app):
            pass

        # Idle, ticking every second: what one tick costs.
        idle = run_loop(TaskScheduler(app=app, max_interval=1), args.seconds, 1)
        idle_floor = run_loop(celery_floor(app, args.tasks, 1), args.seconds, 1)

        # As `celery beat --max-interval 5` runs, with one entry due a few seconds later.
        command = AppCommand.objects.get(name="check")
        at = _now() + timedelta(seconds=args.due_in)
        task = Task.objects.create(name="due soon", command=command, scheduling=at)
        get_backend().add(task)
        beat = TaskScheduler(app=app, max_interval=MAX_INTERVAL)
        due = run_loop(beat, args.seconds, MAX_INTERVAL, (at.timestamp(), CELERY_QUEUE, redis))

        floor_scheduler = celery_floor(app, args.tasks, MAX_INTERVAL)
        at = app.now() + timedelta(seconds=args.due_in)
        entry = {
            "task": "bench.noop",
            "schedule": timedelta(hours=1),
            "options": {"queue": FLOOR_QUEUE},
        }
        floor_scheduler.update_from_dict({"due soon": entry})
        floor_scheduler.schedule["due soon"].last_run_at = at - timedelta(hours=1)
        due_floor = run_loop(
            floor_scheduler, args.seconds, MAX_INTERVAL, (at.timestamp(), FLOOR_QUEUE, redis)
        )
        statements = statements_to_fire(TaskScheduler(app=app, max_interval=MAX_INTERVAL))
        resync = resync_figure(args.resyncs)
        Task.objects.all().delete()
    floor_name = "celery.beat.Scheduler, same entries"
    tick, late = statistics.median(idle[0]), due[1]
    return [
        Figure(
            "celery beat tick (idle, every 1 s), median",
            tick,
            "ms",
            statistics.median(idle_floor[0]),
            floor_name,
            f"<= {TARGET_TICK_MS:g} ms",
            tick <= TARGET_TICK_MS,
        ),
        Figure(
            "celery beat tick (idle, every 1 s), p95",
            percentile(idle[0], 0.95),
            "ms",
            percentile(idle_floor[0], 0.95),
            floor_name,
        ),
        Figure(
            "celery beat: a due entry published late by",
            late,
            "ms",
            due_floor[1],
            floor_name,
            f"<= {TARGET_LATE_MS:g} ms",
            late <= TARGET_LATE_MS,
        ),
        Figure("celery beat loop CPU (--max-interval 5)", due[2], "%", due_floor[2], floor_name),
        Figure("celery beat: SQL statements to fire a due time", statements, "stmt"),
        resync,
    ]


def statements_to_fire(beat) -> int:
    """The SQL statements of the tick that fires one due time of a periodic task (its
    read of the due tasks included), the beat started before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from eztaskmanager.models import AppCommand, Task
    from eztaskmanager.registry import get_backend

    at = _now() + timedelta(seconds=1)
    task = Task.objects.create(
        name="due now",
        command=AppCommand.objects.get(name="check"),
        scheduling=at,
        repetition_period=Task.REPETITION_PERIOD_HOUR,
        repetition_rate=1,
    )
    get_backend().add(task)
    beat.tick_tasks(at - timedelta(seconds=1))  # the first tick, which starts the beat
    with CaptureQueriesContext(connection) as captured:
        beat.tick_tasks(at)
    if not task.launchreport_set.exists():
        raise SystemExit("the beat did not fire the due task")
    return len(captured)


# RQ ----------------------------------------------------------------------------------------
def bench_rq(args: argparse.Namespace, redis_url: str) -> list[Figure]:
    import signal

    from django.test import override_settings
    from redis import Redis
    from rq_scheduler import Scheduler as RQScheduler

    from eztaskmanager.models import Task
    from eztaskmanager_rq.chain import RUN_SCHEDULED_TASK
    from eztaskmanager_rq.occurrences import occurrence_meta, schedule_job_id

    redis = Redis.from_url(redis_url, socket_timeout=None)
    settings = {
        "RQ_QUEUES": {RQ_QUEUE: {"URL": redis_url}},
        "EZTASKMANAGER": {"BACKEND": "rq", "OPTIONS": {"queue": RQ_QUEUE}},
    }
    with override_settings(**settings):
        from eztaskmanager_rq.scheduler import Scheduler

        tasks = make_tasks(args.tasks)
        for task in tasks:
            task.scheduled_job_id = schedule_job_id()
        Task.objects.bulk_update(tasks, ["scheduled_job_id"], batch_size=500)
        floor_scheduler = RQScheduler(queue_name=RQ_QUEUE, connection=redis, interval=1)
        with redis.pipeline(transaction=False) as pipe:
            for task in tasks:
                job = floor_scheduler._create_job(
                    RUN_SCHEDULED_TASK,
                    args=(task.pk,),
                    commit=False,
                    id=task.scheduled_job_id,
                    meta=occurrence_meta(task, task.cached_next_ride),
                )
                job.save(pipeline=pipe)
                pipe.zadd(
                    floor_scheduler.scheduled_jobs_key, {job.id: task.cached_next_ride.timestamp()}
                )
            pipe.execute()
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        ours_scheduler = Scheduler(queue_name=RQ_QUEUE, connection=redis, interval=1)
        ours_scheduler.enqueue_jobs()  # its first tick looks for lost schedules too
        ours, floor = [], []
        for _ in range(args.ticks):  # interleaved, so that drift hits both alike
            ours.append(timed(ours_scheduler.enqueue_jobs))
            floor.append(timed(floor_scheduler.enqueue_jobs))

        # As `rqscheduler --interval 5` runs, with one job due a few seconds later.
        from eztaskmanager.models import AppCommand
        from eztaskmanager.registry import get_backend

        queue_key = f"rq:queue:{RQ_QUEUE}"
        at = whole_second(_now() + timedelta(seconds=args.due_in + 1))
        command = AppCommand.objects.get(name="check")
        get_backend().add(Task.objects.create(name="due soon", command=command, scheduling=at))
        # Long enough for rq-scheduler alone, which moves it up to an interval late.
        seconds = args.due_in + 1 + 2 * MAX_INTERVAL
        ours_loop = RQLoop(Scheduler(queue_name=RQ_QUEUE, connection=redis, interval=MAX_INTERVAL))
        due = run_loop(ours_loop, seconds, MAX_INTERVAL, (at.timestamp(), queue_key, redis))
        floor_loop = RQLoop(
            RQScheduler(queue_name=RQ_QUEUE, connection=redis, interval=MAX_INTERVAL)
        )
        at = whole_second(_now() + timedelta(seconds=args.due_in + 1))
        floor_loop.scheduler.enqueue_at(at, "bench.noop", job_id="bench-floor-due")
        due_floor = run_loop(floor_loop, seconds, MAX_INTERVAL, (at.timestamp(), queue_key, redis))
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        resync = resync_figure(args.resyncs)
        Task.objects.all().delete()
        redis.delete(floor_scheduler.scheduled_jobs_key)
    floor_name = "rq_scheduler.Scheduler.enqueue_jobs"
    tick = statistics.median(ours)
    return [
        Figure(
            "rqscheduler tick (enqueue_jobs), median",
            tick,
            "ms",
            statistics.median(floor),
            floor_name,
            f"<= {TARGET_TICK_MS:g} ms",
            tick <= TARGET_TICK_MS,
        ),
        Figure(
            "rqscheduler tick, p95",
            percentile(ours, 0.95),
            "ms",
            percentile(floor, 0.95),
            floor_name,
        ),
        Figure(
            "rqscheduler: a due job queued late by",
            due[1],
            "ms",
            due_floor[1],
            "rq_scheduler.Scheduler, --interval 5",
            f"<= {TARGET_LATE_MS:g} ms",
            due[1] <= TARGET_LATE_MS,
        ),
        resync,
    ]


class RQLoop:
    """An rq-scheduler run as its ``run()`` loop runs it (rq-scheduler 0.14), one pass a
    :meth:`tick`, for :class:`Loop`: ``run()`` itself installs signal handlers, which a
    thread cannot."""

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        scheduler.register_birth()

    def tick(self) -> float:
        """One pass of the loop; return the seconds it sleeps after."""
        scheduler = self.scheduler
        scheduler.heartbeat()
        started = time.time()
        if scheduler.acquire_lock():
            scheduler.enqueue_jobs()
            scheduler.heartbeat()
            scheduler.remove_lock()
        return scheduler._interval - (time.time() - started)


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--engine", choices=["celery", "rq", "both"], default="both")
    parser.add_argument("--tasks", type=int, default=10_000, help="scheduled tasks")
    parser.add_argument("--conn-max-age", type=int, default=0, help="Django's CONN_MAX_AGE")
    add_options(parser)
    args = parser.parse_args()
    # How long each beat loop runs, rqscheduler ticks timed, and resyncs timed.
    args.seconds, args.ticks, args.resyncs = (4.0, 10, 3) if args.quick else (15.0, 30, 5)
    args.due_in = 3.0 if args.quick else DUE_IN
    if args.quick and args.tasks == 10_000:
        args.tasks = 1_000
    figures = []
    with running_redis() as redis_url, django_project(args.db, APPS):
        from django.conf import settings

        # The connections' own settings (a thread's new connection reads them too).
        settings.DATABASES["default"]["CONN_MAX_AGE"] = args.conn_max_age
        if args.engine in ("celery", "both"):
            figures += bench_celery(args, redis_url)
        if args.engine in ("rq", "both"):
            figures += bench_rq(args, redis_url)
    title = f"Schedulers at {args.tasks:,} hourly tasks, none due ({args.db})"
    if args.conn_max_age:
        title += f", CONN_MAX_AGE={args.conn_max_age}"
    report(title, figures, args.json)


if __name__ == "__main__":
    main()
