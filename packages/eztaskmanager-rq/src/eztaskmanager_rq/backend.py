"""The ``rq`` backend: tasks run on RQ workers, scheduled runs wait in rq-scheduler.

It only translates between RQ and the core: the core decides what may start and what a
Stop does, and changes a task's or a run's state through its model methods; this class
hands jobs to RQ, books and cancels rq-scheduler jobs, and says what RQ knows of a job.

Start now is one RQ job, with the id the core chose for the run, calling
:func:`eztaskmanager_rq.jobs.run_task`. A schedule is a chain of rq-scheduler jobs, one
per due time (:mod:`eztaskmanager_rq.chain`). How Redis is reached is
:mod:`eztaskmanager_rq.connection`'s business.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.checks import CheckMessage
from django.db import transaction
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.options import Option, read_options
from eztaskmanager.origins import Origin
from eztaskmanager.services.queues import JobInfo, JobState, TaskQueueService

# db registers the fork hook in the process that builds the backend: in a worker, before
# it forks its first work-horse.
from eztaskmanager_rq import compat, db  # noqa: F401
from eztaskmanager_rq.chain import ScheduleChain
from eztaskmanager_rq.checks import check_backend
from eztaskmanager_rq.connection import URL_SCHEMES, RedisAccess, queue_config_of

logger = logging.getLogger(__name__)

S = compat.JobStatus
# What RQ's job statuses mean to the core.
JOB_STATES: dict[str, JobState] = {
    S.CREATED.value: JobState.QUEUED,
    S.SCHEDULED.value: JobState.QUEUED,  # in rq-scheduler's set, or RQ's own scheduled registry
    S.DEFERRED.value: JobState.QUEUED,
    S.QUEUED.value: JobState.QUEUED,
    S.STARTED.value: JobState.RUNNING,
    S.FINISHED.value: JobState.ENDED,
    S.FAILED.value: JobState.ENDED,  # an exception, a timeout, a killed work-horse
    S.STOPPED.value: JobState.ENDED,  # send_stop_job_command
    S.CANCELED.value: JobState.ENDED,
}
# Statuses whose latest result says why the job ended.
FAILED_STATUSES = (S.FAILED.value, S.STOPPED.value)

RUN_TASK = "eztaskmanager_rq.jobs.run_task"
# RQ's "never time out" (its own default is 180 s, too short for management commands).
NO_TIMEOUT = -1
# RQ kills a job this long after the run's own timeout, so that the core's deadline (which
# ends the run cleanly, "Timed out after N s.") comes first.
JOB_TIMEOUT_GRACE = 30
# The longest timeout RQ can enforce: it arms signal.alarm(), which takes a C int.
SIGNAL_ALARM_MAX = 2**31 - 1
# The longest run timeout: RQ's alarm, minus the grace it gives the core's own deadline.
MAX_TIMEOUT = SIGNAL_ALARM_MAX - JOB_TIMEOUT_GRACE

# What EZTASKMANAGER["OPTIONS"] may hold for this backend.
OPTIONS = {
    "queue": Option("a queue name", default="default", types=str, blank=False),
    "url": Option(
        "a Redis URL such as redis://localhost:6379/0",
        types=str,
        valid=lambda url: url.startswith(URL_SCHEMES),
    ),
    "timeout": Option(
        f"a number of seconds up to {MAX_TIMEOUT}, or -1 for none",
        types=int,
        minimum=1,
        maximum=MAX_TIMEOUT,
        also=(NO_TIMEOUT,),
    ),
    "result_ttl": Option(
        "a number of seconds, or -1 to keep results for ever", types=int, minimum=-1
    ),
}


class RQBackend(RedisAccess, ScheduleChain, TaskQueueService):
    """Run tasks on RQ workers (``manage.py rqworker``), schedule them with ``rqscheduler``.

    Options: ``queue`` (default ``"default"``; a task may name another queue of
    ``RQ_QUEUES`` on the same Redis); ``url``, a Redis URL used when the queue
    is not in django-rq's ``RQ_QUEUES``; ``timeout`` in seconds (default: the queue's
    ``DEFAULT_TIMEOUT``, else none; a task's own timeout wins); ``result_ttl`` in seconds.
    """

    # Runs tasks at a future time, once or periodically (needs `manage.py rqscheduler`).
    supports_schedule = True
    # Stops a running task: the worker kills the work-horse running it.
    supports_stop = True
    # RQ's alarm, minus the grace it gives the core's own deadline.
    max_timeout = MAX_TIMEOUT

    def __init__(self, **options: Any) -> None:
        values = read_options("rq", OPTIONS, options)
        self.queue_name: str = values["queue"]
        self.url: str | None = values["url"]
        self.timeout: int | None = values["timeout"]
        self.result_ttl: int | None = values["result_ttl"]

    # Timeouts -------------------------------------------------------------------------------
    @property
    def default_timeout(self) -> int | None:  # type: ignore[override]
        """The ``timeout`` option, else the queue's ``DEFAULT_TIMEOUT``, else no limit."""
        if self.timeout is not None:
            return None if self.timeout == NO_TIMEOUT else self.timeout
        queue_default = (self.queue_config or {}).get("DEFAULT_TIMEOUT")
        return queue_default if _is_int(queue_default, 1) else None

    def run_timeout(self, task: Task) -> int | None:
        """The task's timeout, else the ``timeout`` option, else its queue's ``DEFAULT_TIMEOUT``."""
        if task.timeout or self.timeout is not None or not task.queue:
            return super().run_timeout(task)
        queue_default = (queue_config_of(task.queue) or {}).get("DEFAULT_TIMEOUT")
        return queue_default if _is_int(queue_default, 1) else None

    def job_timeout(self, task: Task) -> int:
        """The RQ job's timeout: the run's plus a grace, or RQ's "never" for a run without one."""
        run_timeout = self.run_timeout(task)
        return run_timeout + JOB_TIMEOUT_GRACE if run_timeout else NO_TIMEOUT

    # Public API -----------------------------------------------------------------------------
    def add(self, task: Task, by: Origin | None = None) -> LaunchReport | None:
        """Start or schedule the task; two concurrent schedulings of one task wait for each other.

        Only scheduling takes the task's Redis lock: it books jobs in rq-scheduler, which
        the task's row lock cannot guard. A start now needs no lock of its own (two Redis
        round trips off every Start): the row lock refuses a second run, as on any backend.
        """
        if not task.is_scheduled_later():
            return super().add(task, by)
        with self.task_lock(task):
            return super().add(task, by)

    def remove(self, task: Task) -> None:
        """Cancel the task's schedule; waits for a start of the same task to end first."""
        with self.task_lock(task, _("cancel the schedule of %(task)s") % {"task": task}):
            super().remove(task)

    def check(self) -> list[CheckMessage]:
        """Redis answers, django-rq is installed, rqworker and rqscheduler run our classes."""
        return check_backend(self)

    def queue_names(self) -> list[str]:
        """The ``queue`` option, then the other ``RQ_QUEUES`` on the same Redis."""
        return list(self.same_redis_queues)

    def task_queue(self, task: Task) -> str:
        """The RQ queue a run of ``task`` goes to: its own, else the ``queue`` option."""
        return task.queue or self.queue_name

    # Engine hooks: runs ---------------------------------------------------------------------
    def enqueue(self, task: Task, job_id: str) -> None:
        """Enqueue job ``job_id`` now, or when the current transaction commits (the worker
        must see the queued run).

        Deferred to the commit, the job is preceded by a PING: a Redis that cannot be
        reached is said at once, while the caller can still roll back, rather than only
        in the log once the run is discarded.
        """
        call = {
            "task_id": task.pk,
            "job_id": job_id,
            "queue": self.task_queue(task),
            "timeout": self.job_timeout(task),
            "description": f"eztaskmanager: {task.name} (task {task.pk})",
        }
        using = task._state.db or "default"
        with self.reaching_redis(_("start %(task)s") % {"task": task}):
            if not transaction.get_connection(using).in_atomic_block:
                self.enqueue_call(**call)
                return
            self.connection.ping()
        transaction.on_commit(partial(self.enqueue_after_commit, **call), using=using)

    def enqueue_at(self, task: Task, job_id: str, when: datetime) -> None:
        """Book job ``job_id`` in rq-scheduler for ``when`` (a retry): ``rqscheduler`` moves
        it to the task's queue then, and a worker runs it as it runs Start's jobs."""
        # rq-scheduler keeps whole seconds: the next one, so that the retry is never early.
        if when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        self.book_job(task, job_id, when, RUN_TASK, "retry", _("retry %(task)s") % {"task": task})

    def enqueue_call(
        self, task_id: int, job_id: str, timeout: int, description: str, queue: str = ""
    ) -> compat.Job:
        """Put the job on ``queue`` (empty: the ``queue`` option's)."""
        return self.queue_named(queue or self.queue_name).enqueue_call(
            RUN_TASK,
            args=(task_id,),
            job_id=job_id,
            timeout=timeout,
            result_ttl=self.result_ttl,
            description=description,
        )

    def enqueue_after_commit(
        self, task_id: int, job_id: str, timeout: int, description: str, queue: str = ""
    ) -> None:
        """Enqueue after the commit; if Redis fails now, the queued run is discarded."""
        try:
            self.enqueue_call(task_id, job_id, timeout, description, queue)
        except (RedisError, OSError):
            logger.exception("Could not enqueue task %s on RQ; its run is discarded.", task_id)
            report = LaunchReport.objects.filter(task_id=task_id, job_id=job_id).queued().first()
            if report is not None:
                report.discard()

    def cancel(self, job_id: str) -> None:
        """Take a job out of rq-scheduler and off its queue; a running job goes on."""
        with self.reaching_redis(_("cancel the job %(job)s") % {"job": job_id}):
            self.scheduler.cancel(job_id)
            job = self.fetch_job(job_id)
            if job is not None and JOB_STATES.get(compat.job_status(job) or "") == JobState.QUEUED:
                job.delete()

    def stop_execution(self, report: LaunchReport) -> None:
        """Ask the worker running the report's job to kill its work-horse (it answers at once)."""
        if not report.job_id:
            return
        with self.reaching_redis(_("stop %(task)s") % {"task": report.task}):
            try:
                compat.send_stop_job_command(self.connection, report.job_id)
            except (compat.NoSuchJobError, compat.InvalidJobOperation) as exc:
                logger.info("RQ job %s cannot be stopped by its worker: %s", report.job_id, exc)

    def job_state(self, job_id: str) -> JobInfo:
        """What RQ knows of the job: its status, and for a failed one the last words it left."""
        job = self.fetch_job(job_id)
        status = compat.job_status(job) if job is not None else None
        if status is None:
            return JobInfo(JobState.MISSING, _("unknown to RQ"))
        state = JOB_STATES.get(status, JobState.UNKNOWN)
        detail = status
        if status in FAILED_STATUSES:
            why = compat.failure_text(job)
            detail = f"{status}: {why}" if why else status
        return JobInfo(state, detail)


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
