"""The ``rq`` backend: tasks run on RQ workers, scheduled runs wait in rq-scheduler.

Start now is one RQ job calling :func:`eztaskmanager_rq.jobs.run_task`. A scheduled task is
one rq-scheduler job at an exact time calling :func:`eztaskmanager_rq.jobs.run_scheduled_task`;
a periodic task is a chain of such jobs, each scheduling the next one before it runs the
command (see :mod:`eztaskmanager_rq.occurrences` for why not rq-scheduler's ``interval``
or ``cron``). The task's ``scheduled_job_id`` always names the one job that may run: any
other job of the task that fires is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _
from redis import Redis
from redis.exceptions import LockError, RedisError
from rq import Queue

from eztaskmanager.services.queues import TaskNotRunnable, TaskQueueException, TaskQueueService

# db registers the fork hook, and jobs is preloaded, in the worker before it forks: each
# work-horse would otherwise import it anew (about 3 ms per run).
from eztaskmanager_rq import compat, db, jobs  # noqa: F401
from eztaskmanager_rq.occurrences import following, occurrence_meta

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport, Task

logger = logging.getLogger(__name__)

# What each RQ job status means for a task: still to run, running, or over.
WAITING, RUNNING, OVER = "waiting", "running", "over"
JOB_STATES: dict[str, str] = {
    compat.JobStatus.CREATED.value: WAITING,
    compat.JobStatus.SCHEDULED.value: WAITING,
    compat.JobStatus.DEFERRED.value: WAITING,
    compat.JobStatus.QUEUED.value: WAITING,
    compat.JobStatus.STARTED.value: RUNNING,
    compat.JobStatus.FINISHED.value: OVER,
    compat.JobStatus.FAILED.value: OVER,
    compat.JobStatus.STOPPED.value: OVER,
    compat.JobStatus.CANCELED.value: OVER,
}

RUN_TASK = "eztaskmanager_rq.jobs.run_task"
RUN_SCHEDULED_TASK = "eztaskmanager_rq.jobs.run_scheduled_task"
# RQ's "never time out" (its own default is 180 s, too short for management commands).
NO_TIMEOUT = -1
# How long stop() waits for the worker to kill the run before writing "Stopped by".
STOP_WAIT_SECONDS = 10.0
URL_SCHEMES = ("redis://", "rediss://", "unix://")


class RQBackend(TaskQueueService):
    """Run tasks on RQ workers (``manage.py rqworker``), schedule them with ``rqscheduler``.

    Options: ``queue`` (default ``"default"``); ``url``, a Redis URL used when the queue
    is not in django-rq's ``RQ_QUEUES``; ``timeout`` in seconds (default: the queue's
    ``DEFAULT_TIMEOUT``, else none; a task's own timeout wins); ``result_ttl`` in seconds.
    """

    # Runs tasks at a future time, once or periodically (needs `manage.py rqscheduler`).
    supports_schedule = True
    # Stops a running task: the worker kills the work-horse running it.
    supports_stop = True

    def __init__(
        self,
        queue: str = "default",
        url: str | None = None,
        timeout: int | None = None,
        result_ttl: int | None = None,
    ) -> None:
        if not isinstance(queue, str) or not queue:
            raise ValueError(f"rq: 'queue' must be a queue name, not {queue!r}.")
        if url is not None and (not isinstance(url, str) or not url.startswith(URL_SCHEMES)):
            raise ValueError(
                f"rq: 'url' must be a Redis URL such as redis://localhost:6379/0, not {url!r}."
            )
        if timeout is not None and not _is_int(timeout, minimum=1) and timeout != NO_TIMEOUT:
            raise ValueError(
                f"rq: 'timeout' must be a number of seconds (or -1 for none), not {timeout!r}."
            )
        if result_ttl is not None and not _is_int(result_ttl, minimum=-1):
            raise ValueError(
                f"rq: 'result_ttl' must be a number of seconds (-1: forever), not {result_ttl!r}."
            )
        self.queue_name = queue
        self.url = url
        self.timeout = timeout
        self.result_ttl = result_ttl

    # Connection -------------------------------------------------------------------------
    @property
    def queue_config(self) -> dict[str, Any] | None:
        """This queue's entry in django-rq's ``RQ_QUEUES``, if it has one."""
        return (getattr(settings, "RQ_QUEUES", None) or {}).get(self.queue_name)

    @cached_property
    def connection(self) -> Redis:
        """The Redis client: django-rq's for a queue in ``RQ_QUEUES``, else one from ``url``."""
        if self.queue_config is not None:
            from django_rq.queues import get_connection

            return get_connection(self.queue_name)
        if self.url:
            return Redis.from_url(self.url, socket_connect_timeout=5)
        raise ImproperlyConfigured(
            f"rq: the queue '{self.queue_name}' is not in RQ_QUEUES and no 'url' option is set. "
            f'Add RQ_QUEUES = {{"{self.queue_name}": {{"URL": "redis://localhost:6379/0"}}}} '
            'to your settings, or set EZTASKMANAGER["OPTIONS"]["url"].'
        )

    @cached_property
    def queue(self) -> Queue:
        return Queue(self.queue_name, connection=self.connection)

    @cached_property
    def scheduler(self) -> compat.Scheduler:
        return compat.Scheduler(queue_name=self.queue_name, connection=self.connection)

    def describe_connection(self) -> str:
        """Where Redis is expected, for error messages (never with the password)."""
        try:
            kwargs = self.connection.connection_pool.connection_kwargs
        except ImproperlyConfigured:
            return "(not configured)"
        if kwargs.get("path"):
            return f"unix://{kwargs['path']}"
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

    @contextmanager
    def reaching_redis(self, action: str) -> Iterator[None]:
        """Turn Redis errors into a :class:`TaskQueueException` that says what to fix."""
        try:
            yield
        except ImproperlyConfigured as exc:
            raise TaskQueueException(
                _("Could not %(action)s: %(error)s") % {"action": action, "error": exc}
            ) from exc
        except (RedisError, OSError) as exc:
            raise TaskQueueException(
                _(
                    "Could not %(action)s: Redis at %(where)s cannot be reached (%(error)s). "
                    "Start redis-server, or fix RQ_QUEUES / the rq backend's url option."
                )
                % {"action": action, "where": self.describe_connection(), "error": exc}
            ) from exc

    # Public API ---------------------------------------------------------------------------
    def add(self, task: Task) -> None:
        """Start or schedule the task; two concurrent starts of one task wait for each other."""
        with self.task_lock(task):
            super().add(task)

    def add_every(self, task: Task, every: timedelta, start: datetime | None = None) -> None:
        """Schedule the task every ``every`` from ``start`` (default: now + ``every``).

        For code and tests that need periods the task's fields cannot say (seconds).
        The schedule lives in Redis only: starting the task again from its fields replaces it.
        """
        from eztaskmanager.models import Task

        seconds = every.total_seconds()
        if seconds < 1:
            raise ValueError("add_every() needs a period of at least one second.")
        with self.task_lock(task):
            self.validate(task)
            self.remove(task)
            job = self.schedule_at(task, start or timezone.now() + every, every=seconds)
            task.scheduled_job_id = job.id
            task.set_status(
                Task.STATUS_SCHEDULED, scheduled_job_id=job.id, cached_next_ride=self.next_run(task)
            )

    def remove(self, task: Task) -> None:
        """Cancel the schedule, also when ``task`` is a stale copy of a rescheduled row."""
        from eztaskmanager.models import Task

        stored = Task.objects.filter(pk=task.pk).values_list("scheduled_job_id", flat=True).first()
        if stored and stored != task.scheduled_job_id:
            self.cancel_job(stored)
        super().remove(task)

    def next_run(self, task: Task) -> datetime | None:
        """When rq-scheduler will run the task's scheduled job, read from Redis."""
        if not task.scheduled_job_id:
            return None
        try:
            at = compat.scheduled_time(self.connection, task.scheduled_job_id)
            if at is not None:
                return at
            # rq-scheduler has moved the job to the queue; a periodic one schedules its
            # successor when a worker takes it.
            job = self.fetch_job(task.scheduled_job_id)
        except (RedisError, OSError) as exc:
            # A blip must not end a periodic schedule (the runner would clear it): keep
            # what the task last knew.
            logger.warning("Could not read the schedule of task %s from Redis: %s", task.pk, exc)
            return task.cached_next_ride
        if job is None or JOB_STATES.get(compat.job_status(job) or "") == OVER:
            return None
        return following(task, job.meta, timezone.now())

    def check(self) -> list[CheckMessage]:
        try:
            connection = self.connection
        except ImproperlyConfigured as exc:
            return [
                Error(
                    str(exc),
                    hint="The rq backend needs a Redis connection for its queue.",
                    id="eztaskmanager_rq.E001",
                )
            ]
        messages: list[CheckMessage] = []
        try:
            compat.quick_client(connection).ping()
        except (RedisError, OSError) as exc:
            messages.append(
                Warning(
                    f"Redis at {self.describe_connection()} cannot be reached: {exc}",
                    hint="Start redis-server, or fix RQ_QUEUES or the rq backend's url option; "
                    "tasks cannot start or be scheduled until Redis answers.",
                    id="eztaskmanager_rq.W001",
                )
            )
        if self.queue_config is not None and not _app_installed("django_rq"):
            messages.append(
                Warning(
                    "RQ_QUEUES is used but django_rq is not in INSTALLED_APPS: the "
                    "rqworker and rqscheduler management commands will not exist.",
                    hint='Add "django_rq" to INSTALLED_APPS.',
                    id="eztaskmanager_rq.W002",
                )
            )
        return messages

    # Engine-specific parts -----------------------------------------------------------------
    def enqueue(self, task: Task) -> None:
        """Enqueue now, or when the current transaction commits (the worker must see its rows).

        ``add()`` has reached Redis already (its lock), so an error at commit is unlikely; if
        one happens it is logged and the task goes back to idle.
        """
        from django.db import transaction

        call = {
            "task_id": task.pk,
            "timeout": self.job_timeout(task),
            "description": f"eztaskmanager: {task.name} (task {task.pk})",
        }
        using = task._state.db or "default"
        if transaction.get_connection(using).in_atomic_block:
            transaction.on_commit(lambda: self.enqueue_after_commit(**call), using=using)
            return
        with self.reaching_redis(_("start %(task)s") % {"task": task}):
            self.enqueue_call(**call)

    def enqueue_call(self, task_id: int, timeout: int, description: str) -> compat.Job:
        return self.queue.enqueue_call(
            RUN_TASK,
            args=(task_id,),
            timeout=timeout,
            result_ttl=self.result_ttl,
            description=description,
        )

    def enqueue_after_commit(self, task_id: int, timeout: int, description: str) -> None:
        from eztaskmanager.models import Task

        try:
            self.enqueue_call(task_id, timeout, description)
        except (RedisError, OSError):
            logger.exception("Could not enqueue task %s on RQ; it goes back to idle.", task_id)
            Task.objects.filter(pk=task_id, status=Task.STATUS_SPOOLED).update(
                status=Task.STATUS_IDLE
            )

    def schedule(self, task: Task) -> str:
        at = task.next_run_after()
        if at is None:
            raise TaskNotRunnable(
                _("%(task)s has no future run to schedule: set its scheduling.") % {"task": task}
            )
        job = self.schedule_at(task, at)
        # The base class reads next_run(task) before it stores the id.
        task.scheduled_job_id = job.id
        return job.id

    def schedule_at(self, task: Task, at: datetime, every: float | None = None) -> compat.Job:
        """Put one rq-scheduler job that runs ``task`` at ``at``; return it."""
        with self.reaching_redis(_("schedule %(task)s") % {"task": task}):
            return self.scheduler.enqueue_at(
                at,
                RUN_SCHEDULED_TASK,
                task.pk,
                timeout=self.job_timeout(task),
                job_result_ttl=self.result_ttl,
                job_description=f"eztaskmanager: {task.name} (task {task.pk}, scheduled)",
                meta=occurrence_meta(task, at, every),
            )

    def unschedule(self, task: Task) -> None:
        self.cancel_job(task.scheduled_job_id)

    def cancel_job(self, job_id: str) -> None:
        """Take a job out of rq-scheduler and out of its queue; a running job goes on."""
        with self.reaching_redis(_("cancel the job %(job)s") % {"job": job_id}):
            self.scheduler.cancel(job_id)
            job = self.fetch_job(job_id)
            if job is not None and JOB_STATES.get(compat.job_status(job) or "") == WAITING:
                job.delete()

    def stop_execution(self, report: LaunchReport) -> None:
        """Ask the worker running the report's job to kill it, and wait until it has."""
        if not report.job_id:
            return
        with self.reaching_redis(_("stop %(task)s") % {"task": report.task}):
            try:
                compat.send_stop_job_command(self.connection, report.job_id)
            except compat.NoSuchJobError:
                return
            except compat.InvalidJobOperation:
                self.cancel_job(report.job_id)  # not running (yet): make sure it never does
                return
            self.wait_until_over(report.job_id)

    # Helpers --------------------------------------------------------------------------------
    def fetch_job(self, job_id: str) -> compat.Job | None:
        try:
            return compat.Job.fetch(job_id, connection=self.connection)
        except compat.NoSuchJobError:
            return None

    def wait_until_over(self, job_id: str, timeout: float = STOP_WAIT_SECONDS) -> bool:
        """Poll until the job no longer runs; return whether it stopped in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.fetch_job(job_id)
            if job is None or JOB_STATES.get(compat.job_status(job) or "") != RUNNING:
                return True
            time.sleep(0.05)
        logger.warning("RQ job %s still runs %.0f s after a stop request.", job_id, timeout)
        return False

    def job_timeout(self, task: Task) -> int:
        """Seconds a run may last: the task's, else this backend's, else the queue's, else no limit."""
        if task.timeout:
            return task.timeout
        if self.timeout is not None:
            return self.timeout
        return (self.queue_config or {}).get("DEFAULT_TIMEOUT") or NO_TIMEOUT

    @contextmanager
    def task_lock(self, task: Task) -> Iterator[None]:
        """A Redis lock per task, so that two starts never leave two scheduled jobs."""
        with self.reaching_redis(_("start %(task)s") % {"task": task}):
            lock = self.connection.lock(
                f"eztaskmanager:lock:task:{task.pk}", timeout=60, blocking_timeout=15
            )
            acquired = lock.acquire()
        if not acquired:
            raise TaskQueueException(
                _("%(task)s is being started by someone else; try again.") % {"task": task}
            )
        try:
            yield
        finally:
            try:
                lock.release()
            except (LockError, RedisError):
                logger.warning("Could not release the start lock of task %s", task.pk)


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _app_installed(name: str) -> bool:
    from django.apps import apps

    return apps.is_installed(name)
