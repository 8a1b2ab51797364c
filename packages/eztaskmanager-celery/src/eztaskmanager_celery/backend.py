"""The ``celery`` backend: tasks run on the project's own Celery app and workers.

Start now publishes the package's Celery task (``tasks.py``) through the broker. A
schedule publishes nothing: the package's beat scheduler
(``celery -A proj beat -S eztaskmanager_celery.beat:TaskScheduler``) reads the ``Task``
table, the one source of truth, and publishes each run when it is due, so no long
countdown or ETA message ever sits in the broker (Redis would re-deliver it after its
visibility timeout). Stop revokes the run with ``terminate=True``, which only the
worker's prefork pool can honour.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery import Celery, current_app, uuid
from celery.platforms import signals
from celery.utils.imports import symbol_by_name
from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.services.queues import TaskQueueException, TaskQueueService
from eztaskmanager_celery import timetable
from eztaskmanager_celery.tasks import RUN_TASK_NAME

if TYPE_CHECKING:
    from kombu import Connection

logger = logging.getLogger(__name__)

# Seconds the hard time limit leaves a run after its soft one (Task.timeout) fired.
HARD_LIMIT_GRACE = 10


class CeleryBackend(TaskQueueService):
    """Run tasks on a Celery app; schedules are fired by :class:`~.beat.TaskScheduler`."""

    # One-off and periodic schedules, fired by the package's beat scheduler.
    supports_schedule = True
    # Stop revokes the run with terminate=True (the worker's prefork pool only).
    supports_stop = True

    def __init__(
        self,
        app: str | Celery | None = None,
        queue: str | None = None,
        apply_async_options: dict[str, Any] | None = None,
        connect_timeout: float = 3.0,
        schedule_speedup: int = 1,
        stop_signal: str = "SIGKILL",
    ) -> None:
        """Options come from ``EZTASKMANAGER["OPTIONS"]``; see the how-to page for each."""
        if queue is not None and (not isinstance(queue, str) or not queue):
            raise ValueError(f"queue must be a queue name, not {queue!r}.")
        if apply_async_options is not None and not isinstance(apply_async_options, dict):
            raise ValueError("apply_async_options must be a dict of apply_async() keywords.")
        if not isinstance(connect_timeout, (int, float)) or connect_timeout <= 0:
            raise ValueError(
                f"connect_timeout must be a positive number of seconds, not {connect_timeout!r}."
            )
        if (
            not isinstance(schedule_speedup, int)
            or isinstance(schedule_speedup, bool)
            or schedule_speedup < 1
        ):
            raise ValueError(
                f"schedule_speedup must be a whole number >= 1, not {schedule_speedup!r}."
            )
        try:
            signals.signum(stop_signal)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"stop_signal must be a signal name like 'SIGKILL', not {stop_signal!r}."
            ) from exc
        self.app = self._load_app(app)
        self.queue = queue
        self.apply_async_options = dict(apply_async_options or {})
        self.connect_timeout = float(connect_timeout)
        self.schedule_speedup = schedule_speedup
        self.stop_signal = stop_signal

    @staticmethod
    def _load_app(app: str | Celery | None) -> Celery:
        """The Celery app: an instance, a dotted path (``proj.celery:app``) or the current one."""
        if app is None:
            return current_app._get_current_object()
        if isinstance(app, Celery):
            return app
        if isinstance(app, str):
            try:
                loaded = symbol_by_name(app)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ImproperlyConfigured(
                    f"app: cannot import the Celery app '{app}': {exc}"
                ) from exc
            if isinstance(loaded, Celery):
                return loaded
        raise ImproperlyConfigured(f"app must be a Celery app or its dotted path, not {app!r}.")

    # The engine-specific parts of TaskQueueService ---------------------------------------
    def enqueue(self, task: Task) -> None:
        """Publish the run now; its Celery id is kept so that Stop can revoke it if still queued."""
        previous, job_id = task.scheduled_job_id, uuid()
        Task.objects.filter(pk=task.pk).update(scheduled_job_id=job_id)
        task.scheduled_job_id = job_id
        try:
            self.publish(task, job_id)
        except Exception:
            Task.objects.filter(pk=task.pk, scheduled_job_id=job_id).update(
                scheduled_job_id=previous
            )
            task.scheduled_job_id = previous
            raise

    def schedule(self, task: Task) -> str:
        """Hand the task to the beat: nothing goes to the broker until a run is due."""
        job_id = timetable.beat_job_id(task.pk)
        timetable.arm(task)
        Task.objects.filter(pk=task.pk).update(scheduled_job_id=job_id)
        task.scheduled_job_id = job_id
        return job_id

    def unschedule(self, task: Task) -> None:
        """Forget the schedule (the beat sees the cleared job id); revoke a still-queued run."""
        job_id = task.scheduled_job_id
        if not job_id or job_id.startswith(timetable.BEAT_PREFIX):
            return
        try:
            self.revoke(job_id, terminate=False)
        except TaskQueueException as exc:
            logger.warning(
                "Could not revoke the queued job %s of task %s: %s", job_id, task.pk, exc
            )

    def stop_execution(self, report: LaunchReport) -> None:
        """Revoke the run with terminate: its prefork worker process is killed."""
        if not report.job_id:
            raise TaskQueueException(_("This run has no Celery task id, so it cannot be revoked."))
        self.revoke(report.job_id, terminate=True)

    def next_run(self, task: Task) -> datetime | None:
        """The next due time the beat will fire; ``None`` once a one-off has fired."""
        return timetable.next_run(task, speedup=self.schedule_speedup)

    def check(self) -> list[CheckMessage]:
        """The app is installed and the broker answers."""
        messages: list[CheckMessage] = []
        if not apps.is_installed("eztaskmanager_celery"):
            messages.append(
                Error(
                    '"eztaskmanager_celery" is not in INSTALLED_APPS: the Celery backend keeps '
                    "its beat bookkeeping in a table of that app.",
                    hint='Add "eztaskmanager_celery" to INSTALLED_APPS and run migrate.',
                    id="eztaskmanager_celery.E001",
                )
            )
        if self.app.conf.task_always_eager:
            return messages
        if not self.app.conf.broker_url:
            messages.append(
                Warning(
                    f"The Celery app '{self.app.main}' has no broker_url: tasks would go to "
                    "Celery's default broker (amqp://guest@localhost//).",
                    hint="Load your project's Celery app in proj/__init__.py (as Celery's Django "
                    'guide shows) or set EZTASKMANAGER["OPTIONS"]["app"] to its dotted path, '
                    "and set CELERY_BROKER_URL.",
                    id="eztaskmanager_celery.W002",
                )
            )
        try:
            with self.connection(max_retries=0):
                pass
        except TaskQueueException as exc:
            messages.append(
                Warning(
                    str(exc),
                    hint="Tasks cannot start until the broker answers: start it (and the "
                    "Celery worker and beat), or fix CELERY_BROKER_URL.",
                    id="eztaskmanager_celery.W001",
                )
            )
        return messages

    # Talking to the broker -------------------------------------------------------------
    def publish(self, task: Task, job_id: str | None = None, app: Celery | None = None) -> str:
        """Send one run of ``task`` to the workers; return its Celery task id.

        Fails fast with :class:`TaskQueueException` when the broker does not answer within
        ``connect_timeout``, so the admin never hangs on a broker that is down.
        """
        app = app or self.app
        job_id = job_id or uuid()
        signature = app.signature(RUN_TASK_NAME, args=(task.pk,))
        options = self.send_options(task)
        if app.conf.task_always_eager:
            signature.apply_async(task_id=job_id, **options)
            return job_id
        with self.connection(app) as conn:
            signature.apply_async(task_id=job_id, connection=conn, retry=False, **options)
        return job_id

    def send_options(self, task: Task) -> dict[str, Any]:
        """``apply_async()`` keywords for a run: routing from the options, the task's time limit."""
        options = dict(self.apply_async_options)
        if self.queue:
            options["queue"] = self.queue
        if task.timeout:
            options.setdefault("soft_time_limit", task.timeout)
            options.setdefault("time_limit", task.timeout + HARD_LIMIT_GRACE)
        return options

    def revoke(self, job_id: str, terminate: bool) -> None:
        """Tell the workers to drop the job, and with ``terminate`` to kill its process."""
        with self.connection() as conn:
            self.app.control.revoke(
                job_id, terminate=terminate, signal=self.stop_signal, connection=conn
            )

    @contextmanager
    def connection(self, app: Celery | None = None, max_retries: int = 1) -> Iterator[Connection]:
        """A broker connection that gives up after ``connect_timeout``, with a clear error."""
        app = app or self.app
        conn = app.connection_for_write(connect_timeout=self.connect_timeout)
        errors = (OperationalError, OSError, *conn.connection_errors)
        try:
            conn.ensure_connection(
                max_retries=max_retries,
                interval_start=0,
                interval_step=0.2,
                timeout=self.connect_timeout,
            )
            yield conn
        except errors as exc:
            raise TaskQueueException(
                _(
                    "Cannot reach the Celery broker at %(url)s (%(error)s). Start the broker, "
                    "or fix the Celery app's broker_url (CELERY_BROKER_URL in the settings)."
                )
                % {"url": maybe_sanitize_url(conn.as_uri(include_password=True)), "error": exc}
            ) from exc
        finally:
            conn.release()
