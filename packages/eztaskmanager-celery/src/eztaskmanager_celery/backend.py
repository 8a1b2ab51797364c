"""The ``celery`` backend: tasks run on the project's own Celery app and workers.

The backend only translates between Celery and the core, which owns every state change:
Start publishes the package's Celery task (``tasks.py``) with the run's job id as its
Celery id; a schedule publishes nothing, the package's beat scheduler
(``celery -A proj beat -S eztaskmanager_celery.beat:TaskScheduler``) reads the ``Task``
table, the one source of truth, and publishes each run when it is due, so no long
countdown or ETA message ever sits in the broker (Redis would re-deliver it after its
visibility timeout). Stop revokes a queued run; a running run stops itself (the core's
cooperative stop), and one that has not within a couple of seconds is revoked with
``terminate=True``, which only the prefork pool honours. The worker's signals end a run
at once when its pool process dies (:mod:`eztaskmanager_celery.signals`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery import Celery, states
from celery.backends.base import DisabledBackend
from celery.platforms import signals
from celery.result import AsyncResult
from django.core.checks import CheckMessage
from django.utils import timezone
from django.utils.translation import gettext as _

from eztaskmanager.options import Option, read_options
from eztaskmanager.services.queues import (
    JobInfo,
    JobState,
    ScheduleHandle,
    TaskQueueException,
    TaskQueueService,
)
from eztaskmanager_celery import checks, timetable
from eztaskmanager_celery.connection import BrokerAccess, load_app
from eztaskmanager_celery.tasks import RUN_TASK_NAME

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport, Task

logger = logging.getLogger(__name__)

# Celery's task states (as its result backend stores them) and what they tell the core.
# PENDING is what Celery answers for any id it has no result for: queued, running (unless
# task_track_started is on), or unknown; so it tells nothing.
JOB_STATES: dict[str, JobState] = {
    states.PENDING: JobState.UNKNOWN,
    states.RECEIVED: JobState.QUEUED,
    states.RETRY: JobState.QUEUED,
    states.STARTED: JobState.RUNNING,
    states.SUCCESS: JobState.ENDED,
    states.FAILURE: JobState.ENDED,
    states.REVOKED: JobState.ENDED,
    states.IGNORED: JobState.ENDED,
    # Rejected and put back in the queue (without requeue Celery stores FAILURE).
    states.REJECTED: JobState.QUEUED,
}

# Seconds Celery's soft and hard time limits leave a run after its own timeout, so that
# the core ends it first ("Timed out after N s.", with its log kept) and Celery's limits
# only catch a command stuck where the core cannot interrupt it (in C code).
SOFT_LIMIT_GRACE = 5
HARD_LIMIT_GRACE = 15

# What EZTASKMANAGER["OPTIONS"] may hold for this backend.
OPTIONS = {
    "app": Option("a Celery app or its dotted path (proj.celery:app)", types=(str, Celery)),
    "queue": Option("a queue name", types=str, blank=False),
    "queues": Option(
        "a list of queue names",
        types=(list, tuple),
        valid=lambda names: all(isinstance(name, str) and name for name in names),
    ),
    "apply_async_options": Option("a dict of apply_async() keywords", types=dict),
    "connect_timeout": Option(
        "a positive number of seconds", default=3.0, types=(int, float), valid=lambda s: s > 0
    ),
    "stop_signal": Option(
        "a signal name like 'SIGKILL'", default="SIGKILL", types=str, valid=signals.signum
    ),
}
# The backend's name in the heartbeats of the workers and the beat.
BACKEND_NAME = "celery"


class CeleryBackend(BrokerAccess, TaskQueueService):
    """Run tasks on a Celery app; schedules are fired by :class:`~.beat.TaskScheduler`."""

    # One-off and periodic schedules, fired by the package's beat scheduler.
    supports_schedule = True
    # Stop revokes the run with terminate=True (prefork pool), and the core stops it too.
    supports_stop = True
    # Celery's time limits take any number of seconds: the task's own bound applies.
    max_timeout = None

    def __init__(self, **options: Any) -> None:
        """Options come from ``EZTASKMANAGER["OPTIONS"]``; see the how-to page for each."""
        values = read_options("celery", OPTIONS, options)
        self.app = load_app(values["app"])
        self.queue: str | None = values["queue"]
        self.queues: list[str] = list(values["queues"] or [])
        self.apply_async_options: dict[str, Any] = dict(values["apply_async_options"] or {})
        self.connect_timeout = float(values["connect_timeout"])
        self.stop_signal: str = values["stop_signal"]

    # The engine hooks of TaskQueueService ------------------------------------------------
    def enqueue(self, task: Task, job_id: str) -> None:
        """Publish the run now, with ``job_id`` as its Celery id."""
        self.publish(task, job_id=job_id)

    def enqueue_at(self, task: Task, job_id: str, when: datetime) -> None:
        """Publish a retry with an ETA: a worker holds it until ``when``, then runs it."""
        self.publish(task, job_id=job_id, eta=when)

    def new_schedule_id(self, task: Task) -> str:
        """The beat runs every schedule named ``beat:<pk>``."""
        return timetable.beat_job_id(task.pk)

    def schedule(self, task: Task) -> None:
        """Nothing to book: the beat reads the schedule from the Task table, and nothing
        goes to the broker until a run is due."""

    def unschedule(self, task: Task) -> None:
        """Nothing to tell Celery: the beat reads the cleared schedule from the table."""

    def cancel(self, job_id: str) -> None:
        """Revoke a queued run: a worker that receives it drops it."""
        self.revoke(job_id, terminate=False)

    def stop_execution(self, report: LaunchReport) -> None:
        """Revoke the run with terminate: on the prefork pool its process is killed.

        The core asks this of a run that did not stop by itself when asked. Other pools
        cannot kill a run (Celery raises in the worker and only logs it).
        """
        if not report.job_id:
            raise TaskQueueException(_("This run has no Celery task id, so it cannot be revoked."))
        self.revoke(report.job_id, terminate=True)

    def job_state(self, job_id: str) -> JobInfo:
        """What the result backend says of the job; UNKNOWN without a result backend."""
        if not self.app.conf.result_backend or isinstance(self.app.backend, DisabledBackend):
            return JobInfo(JobState.UNKNOWN)
        result = AsyncResult(job_id, app=self.app)
        state = result.state
        info = JOB_STATES.get(state, JobState.UNKNOWN)
        if state == states.FAILURE:
            return JobInfo(info, f"failed: {result.result!r}")
        return JobInfo(info, state.lower())

    def lost_schedules(self, tasks: list[ScheduleHandle]) -> list[ScheduleHandle]:
        """Only schedules the beat does not read (booked by another backend) are lost.

        The beat reads the ``Task`` table itself, so a schedule of this backend cannot
        be lost by Celery; a handle of another backend (the project switched from RQ)
        is booked again on the beat.
        """
        return [task for task in tasks if not timetable.is_on_beat(task)]

    def next_run(self, task: Task) -> datetime | None:
        """The next due time the beat will fire, by the task's fields (``None`` if none)."""
        if not task.scheduled_job_id:
            return None
        return task.next_run_after(timezone.now())

    def queue_names(self) -> list[str]:
        """The queues a task may name: the ``queues`` option, else the app's ``task_queues``.

        The default (the ``queue`` option, else the app's ``task_default_queue``) comes
        first. Empty when neither lists queues: Celery then makes a queue of any name
        (``task_create_missing_queues``), and a task's queue goes as it is.
        """
        names = self.queues or [queue.name for queue in self.app.conf.task_queues or ()]
        if not names:
            return []
        default = self.queue or self.app.conf.task_default_queue
        return [default, *(name for name in names if name != default)]

    def check(self) -> list[CheckMessage]:
        """The app is installed, the broker answers, the beat runs our scheduler."""
        messages = checks.app_installed()
        if self.app.conf.task_always_eager:
            return messages
        messages += checks.broker_configured(self.app)
        try:
            with self.connection(max_retries=0):
                pass
        except TaskQueueException as exc:
            messages += checks.broker_unreachable(exc)
        messages += checks.beat_scheduler(self.app)
        return messages

    # A run as a Celery message -------------------------------------------------------
    def publish(
        self, task: Task, job_id: str, app: Celery | None = None, eta: datetime | None = None
    ) -> str:
        """Send one run of ``task`` to the workers as ``job_id`` (to run at ``eta``, if
        given); return that id.

        Fails fast with :class:`TaskQueueException` when the broker does not answer within
        ``connect_timeout``, so the admin never hangs on a broker that is down.
        """
        app = app or self.app
        signature = app.signature(RUN_TASK_NAME, args=(task.pk,))
        options = self.send_options(task)
        if eta is not None:
            options["eta"] = eta
        if app.conf.task_always_eager:
            signature.apply_async(task_id=job_id, **options)
            return job_id
        with self.connection(app) as conn:
            signature.apply_async(
                task_id=job_id,
                connection=conn,
                retry=True,
                retry_policy=self.PUBLISH_RETRY,
                **options,
            )
        return job_id

    def send_options(self, task: Task) -> dict[str, Any]:
        """``apply_async()`` keywords for a run: its queue, the time limits.

        The task's own queue wins over the ``queue`` option, which wins over the app's
        routes; with the task's queue, the queue's own exchange and routing key apply.
        """
        options = dict(self.apply_async_options)
        if task.queue:
            options.pop("exchange", None)
            options.pop("routing_key", None)
            options["queue"] = task.queue
        elif self.queue:
            options["queue"] = self.queue
        timeout = self.run_timeout(task)
        if timeout:
            options.setdefault("soft_time_limit", timeout + SOFT_LIMIT_GRACE)
            options.setdefault("time_limit", timeout + HARD_LIMIT_GRACE)
        return options
