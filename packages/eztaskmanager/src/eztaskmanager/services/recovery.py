"""Recovery: end the runs whose process is gone, and book again the schedules an engine lost.

:func:`recover` is what workers and schedulers call when they start and on their ticks,
and what ``manage.py eztaskmanager_resync`` runs. It is idempotent: on a healthy system
it finds nothing to do.

A running run is declared lost (``failed``, or ``stopped`` if a stop was asked for) when

- its heartbeat is older than ``EZTASKMANAGER["HEARTBEAT_TIMEOUT"]`` (60 s by default;
  10 s once a stop was asked for): its whole worker, or machine, is gone;
- or its process is known to be gone (it ran on this very host and PID namespace);
- or, once it has missed a few heartbeats, the engine says its job is over or unknown.

A queued run ends ``failed`` when the engine says its job ended before the run started
(the worker failed before the runner) or lost it (Redis restarted empty).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eztaskmanager.conf import get_setting
from eztaskmanager.processes import process_is_gone
from eztaskmanager.services.queues import JobInfo, JobState

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport
    from eztaskmanager.services.queues import TaskQueueService

logger = logging.getLogger(__name__)

# A run that missed this many seconds of heartbeats is checked against its process and engine.
SILENCE_CHECKED = 3.0
# Once a stop was asked for, a run silent for this long has stopped (its process is gone).
STOPPING_TIMEOUT = 10.0
# A queued job the engine does not know is lost only after this long (it may be on its way).
QUEUED_MISSING_GRACE = 30.0


def _job_info(backend: TaskQueueService, job_id: str) -> JobInfo:
    if not job_id:
        return JobInfo(JobState.UNKNOWN)
    try:
        return backend.job_state(job_id)
    except Exception as exc:  # an engine that cannot answer tells nothing
        logger.warning("Could not ask the queue about job %s: %s", job_id, exc)
        return JobInfo(JobState.UNKNOWN)


def why_lost(report: LaunchReport, backend: TaskQueueService, now: datetime | None = None) -> str:
    """Why the running ``report``'s process must be gone; empty while it may be alive.

    The words say "Stopped" for a run that was asked to stop (it ends ``stopped``), and
    "Worker lost" for the others (they end ``failed``).
    """
    from eztaskmanager.models import LaunchReport

    now = now or timezone.now()
    last_sign = report.heartbeat_at or report.invocation_datetime
    silent = (now - last_sign).total_seconds()
    stopping = report.state == LaunchReport.STATE_STOPPING
    lead = _("Stopped") if stopping else _("Worker lost")
    if stopping and silent > STOPPING_TIMEOUT:
        return _("%(lead)s: its process gave no sign of life for %(seconds)d s.") % {
            "lead": lead,
            "seconds": silent,
        }
    if silent > get_setting("HEARTBEAT_TIMEOUT"):
        return _("%(lead)s: no heartbeat for %(seconds)d s (%(worker)s).") % {
            "lead": lead,
            "seconds": silent,
            "worker": report.worker or "?",
        }
    if process_is_gone(report.host_key, report.pid):
        # Certain: it ran on this very host, and no process has its pid any more.
        return _("%(lead)s: its process %(worker)s is gone.") % {
            "lead": lead,
            "worker": report.worker,
        }
    if silent <= SILENCE_CHECKED:
        return ""
    info = _job_info(backend, report.job_id)
    if info.state in (JobState.ENDED, JobState.MISSING):
        return _("%(lead)s: the queue says its job %(detail)s.") % {
            "lead": lead,
            "detail": info.detail or info.state.value,
        }
    return ""


def why_lost_queued(
    report: LaunchReport, backend: TaskQueueService, now: datetime | None = None
) -> str:
    """Why the queued ``report`` will never start; empty while it may."""
    now = now or timezone.now()
    info = _job_info(backend, report.job_id)
    if info.state == JobState.ENDED:
        return _("Not run: its job ended before the run started (%(detail)s).") % {
            "detail": info.detail or info.state.value
        }
    waited = (now - (report.queued_at or report.invocation_datetime)).total_seconds()
    if info.state == JobState.MISSING and waited > QUEUED_MISSING_GRACE:
        return _("Not run: the queue lost its job before it started.")
    return ""


def reap_run(report: LaunchReport, backend: TaskQueueService, refresh: bool = True) -> bool:
    """End ``report`` if its run can no longer end by itself; return whether it did.

    Ending it is conditional, so a ``report`` read a moment ago (``refresh=False``) is safe.
    """
    from eztaskmanager.models import LaunchReport

    if refresh:
        report.refresh_from_db()
    if report.state in LaunchReport.RUNNING_STATES:
        reason = why_lost(report, backend)
        return bool(reason) and report.lost(reason)
    if report.state == LaunchReport.STATE_QUEUED:
        reason = why_lost_queued(report, backend)
        return bool(reason) and report.finish(
            LaunchReport.RESULT_FAILED, reason, states=(LaunchReport.STATE_QUEUED,)
        )
    return False


def reap(backend: TaskQueueService | None = None) -> list[str]:
    """End every run that can no longer end by itself; return what was done, one line each."""
    from eztaskmanager.models import LaunchReport
    from eztaskmanager.registry import get_backend

    backend = backend or get_backend()
    done = []
    for report in LaunchReport.objects.active().select_related("task").order_by("pk"):
        try:
            if reap_run(report, backend, refresh=False):
                done.append(f"{report.task} (report {report.pk}): {report.reason}")
        except LaunchReport.DoesNotExist:
            continue  # deleted meanwhile
    return done


def resync(backend: TaskQueueService | None = None) -> list[str]:
    """Book again every schedule the engine lost, and set right statuses that drifted."""
    from eztaskmanager.models import LaunchReport, Task
    from eztaskmanager.registry import get_backend

    backend = backend or get_backend()
    done = []
    drifted = Task.objects.filter(status__in=[Task.STATUS_STARTED, Task.STATUS_SPOOLED]).exclude(
        pk__in=LaunchReport.objects.active().values("task_id")
    )
    for task in drifted:
        with transaction.atomic():
            fresh = Task.locked(task.pk)
            if fresh is not None:
                before = fresh.status
                if fresh.sync_status() != before:
                    done.append(f"{fresh}: status {before} -> {fresh.status}")
    scheduled = list(Task.objects.exclude(scheduled_job_id="").select_related("command"))
    if scheduled:
        for task in backend.lost_schedules(scheduled):
            try:
                backend.rearm(task)
            except Exception as exc:
                logger.error("Could not book the schedule of task %s again: %s", task.pk, exc)
                done.append(f"{task}: its schedule was lost and could not be booked again: {exc}")
                continue
            task.refresh_from_db()
            when = timezone.localtime(task.cached_next_ride) if task.cached_next_ride else "-"
            done.append(f"{task}: schedule booked again, next run {when}")
    return done


def recover(backend: TaskQueueService | None = None, schedules: bool = True) -> list[str]:
    """:func:`reap`, then (with ``schedules``) :func:`resync`; log and return what was done."""
    done = reap(backend)
    if schedules:
        done += resync(backend)
    for line in done:
        logger.warning("eztaskmanager recovery: %s", line)
    return done


class Every:
    """A gate that opens at most once every ``seconds``, for work done on a loop's ticks."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True
