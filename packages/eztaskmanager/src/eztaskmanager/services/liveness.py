"""Whether a run can still end by itself: the judgment, on one run, that its process is gone.

A running run is declared lost (``failed``, or ``stopped`` if a stop was asked for) when

- its heartbeat is older than ``EZTASKMANAGER["HEARTBEAT_TIMEOUT"]`` (60 s by default;
  10 s once a stop was asked for): its whole worker, or machine, is gone;
- or its process is known to be gone (it ran on this very host and PID namespace): at
  once, unless it beat a moment ago and the process that started it (an RQ worker, the
  main process of Celery's pool) lives on, for that one saw the exit status and ends the
  run with its cause ("killed (signal 9)"); it is given ``SILENCE_CHECKED`` seconds;
- or, once it has missed a few heartbeats, the engine says its job is over or unknown.

A queued run ends ``failed`` when the engine says its job ended before the run started
(the worker failed before the runner) or lost it (Redis restarted empty).

The base class of backends asks this before a Start and after a Stop; recovery
(:mod:`eztaskmanager.services.recovery`) asks it of every run that has not ended.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from eztaskmanager.conf import get_setting
from eztaskmanager.processes import process_is_alive, process_is_gone
from eztaskmanager.services.engine import Engine, JobInfo, JobState

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport

logger = logging.getLogger(__name__)

# A run that missed this many seconds of heartbeats is checked against its process and engine.
SILENCE_CHECKED = 3.0
# Once a stop was asked for, a run silent for this long has stopped (its process is gone).
STOPPING_TIMEOUT = 10.0
# A queued job the engine does not know is lost only after this long (it may be on its way).
QUEUED_MISSING_GRACE = 30.0


def _job_info(backend: Engine, job_id: str) -> JobInfo:
    if not job_id:
        return JobInfo(JobState.UNKNOWN)
    try:
        return backend.job_state(job_id)
    except Exception as exc:  # an engine that cannot answer tells nothing
        logger.warning("Could not ask the queue about job %s: %s", job_id, exc)
        return JobInfo(JobState.UNKNOWN)


def why_lost(report: LaunchReport, backend: Engine, now: datetime | None = None) -> str:
    """Why the running ``report``'s process must be gone; empty while it may be alive.

    The words say "Stopped" for a run that was asked to stop (it ends ``stopped``), and
    "Worker lost" for the others (they end ``failed``).
    """
    now = now or timezone.now()
    last_sign = report.heartbeat_at or report.invocation_datetime
    silent = (now - last_sign).total_seconds()
    stopping = report.state == report.STATE_STOPPING
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
        if not stopping and silent <= SILENCE_CHECKED and parent_lives(report):
            return ""  # its parent is about to say how it ended
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


def parent_lives(report: LaunchReport) -> bool:
    """Whether the process that started ``report``'s is known to live on this host."""
    return bool(report.parent_pid) and process_is_alive(report.host_key, report.parent_pid)


def why_lost_queued(report: LaunchReport, backend: Engine, now: datetime | None = None) -> str:
    """Why the queued ``report`` will never start; empty while it may."""
    now = now or timezone.now()
    expired = report.overstayed(report.task, now)
    if expired:
        return expired
    info = _job_info(backend, report.job_id)
    if info.state == JobState.ENDED:
        return _("Not run: its job ended before the run started (%(detail)s).") % {
            "detail": info.detail or info.state.value
        }
    if info.state == JobState.MISSING and report.seconds_waiting(now) > QUEUED_MISSING_GRACE:
        return _("Not run: the queue lost its job before it started.")
    return ""


def reap_run(report: LaunchReport, backend: Engine, refresh: bool = True) -> bool:
    """End ``report`` if its run can no longer end by itself; return whether it did.

    Ending it is conditional, so a ``report`` read a moment ago (``refresh=False``) is safe.
    """
    if refresh:
        report.refresh_from_db()
    if report.state in report.RUNNING_STATES:
        reason = why_lost(report, backend)
        return bool(reason) and report.lost(reason)
    if report.state == report.STATE_QUEUED:
        reason = why_lost_queued(report, backend)
        return bool(reason) and report.finish(
            report.RESULT_FAILED, reason, states=(report.STATE_QUEUED,)
        )
    return False
