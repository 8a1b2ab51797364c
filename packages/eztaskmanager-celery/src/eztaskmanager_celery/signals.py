"""What the Celery worker knows first, told to the core at once.

The worker's main process learns before anyone else that a run's pool process died
(``task_failure`` with ``WorkerLostError``: killed by the OOM killer or ``kill -9``), that
a hard time limit killed it (``task_failure`` with ``TimeLimitExceeded``), or that a
revoke with terminate killed it (``task_revoked``). Without these receivers the run would
wait for the reaper's heartbeat bound; with them it ends within a second. They act only
on this package's task, find the run by its job id (the Celery task id), and end it
through the core's transitions, where the first final state wins: a run that ended by
itself meanwhile is left as it is. ``worker_ready`` starts the worker's own watch
(:mod:`eztaskmanager_celery.worker`); ``worker_process_init`` gives a prefork pool
process spare connections (:mod:`eztaskmanager_celery.spare`), closed at
``worker_process_shutdown``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError
from celery import signals
from django.db import connections
from django.utils.translation import gettext as _

from eztaskmanager.models import LaunchReport
from eztaskmanager.processes import process_is_gone
from eztaskmanager_celery import spare, worker
from eztaskmanager_celery.tasks import RUN_TASK_NAME

logger = logging.getLogger(__name__)

# How long a terminated run's process may take to disappear before its report ends.
PROCESS_GONE_WAIT = 1.0


def connect() -> None:
    """Connect the receivers (from the app's ``ready()``, in every process; idempotent)."""
    signals.task_failure.connect(on_task_failure, dispatch_uid="eztaskmanager_celery.failure")
    signals.task_revoked.connect(on_task_revoked, dispatch_uid="eztaskmanager_celery.revoked")
    signals.worker_ready.connect(worker.on_worker_ready, dispatch_uid="eztaskmanager_celery.ready")
    signals.worker_shutdown.connect(
        worker.on_worker_shutdown, dispatch_uid="eztaskmanager_celery.shutdown"
    )
    signals.worker_process_init.connect(
        spare.on_worker_process_init, dispatch_uid="eztaskmanager_celery.process_init"
    )
    signals.worker_process_shutdown.connect(
        spare.on_worker_process_shutdown, dispatch_uid="eztaskmanager_celery.process_shutdown"
    )


def is_ours(sender: Any) -> bool:
    return getattr(sender, "name", None) == RUN_TASK_NAME


def active_runs(job_id: str) -> list[LaunchReport]:
    return list(LaunchReport.objects.filter(job_id=job_id).active().select_related("task"))


@contextmanager
def database() -> Iterator[None]:
    """Use the database from a worker's signal: log any error, close the connections after.

    The worker's main process forks new pool processes; it must not keep connections
    open between signals (nor let an error of ours reach Celery).
    """
    try:
        yield
    except Exception:
        logger.exception("eztaskmanager: could not record what the Celery worker reported")
    finally:
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                conn.close()


def on_task_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    **_kw: Any,
) -> None:
    """End the run at once when the worker lost its process or killed it at the hard limit.

    Also when the runner itself failed (the database went away at the wrong moment): the
    run would otherwise wait for the reaper.
    """
    if not is_ours(sender) or not task_id:
        return
    with database():
        for report in active_runs(task_id):
            reason = failure_reason(report, exception)
            if report.lost(reason):
                logger.warning("eztaskmanager: run %s (job %s): %s", report.pk, task_id, reason)


def failure_reason(report: LaunchReport, exception: BaseException | None) -> str:
    """The report's last line: what the worker says happened, in plain words."""
    if isinstance(exception, WorkerLostError):
        stopping = report.state == LaunchReport.STATE_STOPPING
        return worker_lost_reason(str(exception), _("Stopped") if stopping else _("Worker lost"))
    if isinstance(exception, (TimeLimitExceeded, SoftTimeLimitExceeded)):
        # The run's own timeout; else the limit of the project's Celery settings.
        limit = report.timeout or next(iter(exception.args), None)
        if not isinstance(limit, (int, float)) or not limit:
            return _("Timed out: Celery's time limit ended it.")
        if isinstance(exception, SoftTimeLimitExceeded):  # raised outside the command
            return _("Timed out after %(seconds)d s.") % {"seconds": limit}
        return _("Timed out after %(seconds)d s: the worker killed it.") % {"seconds": limit}
    return _("Failed in the worker: %(error)s") % {"error": repr(exception)[:200]}


def worker_lost_reason(message: str, lead: str = "Worker lost") -> str:
    """From billiard's "Worker exited prematurely: signal 9 (SIGKILL) Job: 3." and the like."""
    killed = re.search(r"signal (\d+)(?: \((\w+)\))?", message)
    if killed:
        signal = killed.group(1) + (f" ({killed.group(2)})" if killed.group(2) else "")
        return _("%(lead)s: its pool process was killed by signal %(signal)s.") % {
            "lead": lead,
            "signal": signal,
        }
    exited = re.search(r"exitcode (-?\d+)", message)
    if exited:
        return _("%(lead)s: its pool process exited with code %(code)s.") % {
            "lead": lead,
            "code": exited.group(1),
        }
    return _("%(lead)s: %(message)s") % {"lead": lead, "message": message[:200]}


def on_task_revoked(
    sender: Any = None,
    request: Any = None,
    terminated: bool = False,
    signum: Any = None,
    expired: bool = False,
    **_kw: Any,
) -> None:
    """End a run the worker dropped (revoked before it started) or killed (terminate).

    Stop by the core has usually ended a queued run already; this covers a revoke from
    Celery's own tools, and ends a stopping run as soon as its process is really gone.
    On pools that cannot kill (solo, threads) Celery sends no terminated revoke, and the
    run's own helper thread stops it.
    """
    job_id = getattr(request, "id", None)
    if not is_ours(sender) or not job_id:
        return
    with database():
        for report in active_runs(job_id):
            if report.state == LaunchReport.STATE_QUEUED and not terminated:
                if expired:
                    report.finish(
                        LaunchReport.RESULT_FAILED,
                        _("Not run: its Celery message expired before a worker took it."),
                        states=(LaunchReport.STATE_QUEUED,),
                    )
                else:
                    report.finish(
                        LaunchReport.RESULT_STOPPED,
                        _("Revoked in Celery before it started."),
                        states=(LaunchReport.STATE_QUEUED,),
                    )
            elif terminated and process_gone(report):
                report.finish(
                    LaunchReport.RESULT_STOPPED,
                    _("Stopped: the worker killed its process (signal %(signal)s).")
                    % {"signal": signum},
                )


def process_gone(report: LaunchReport, wait: float = PROCESS_GONE_WAIT) -> bool:
    """Whether the run's process has exited (waiting a moment for a signal to land).

    A run that had not started yet has no process: the worker killed the process about to
    run it.
    """
    if report.pid is None:
        return True
    deadline = time.monotonic() + wait
    while not process_is_gone(report.host_key, report.pid):
        if time.monotonic() >= deadline:
            logger.warning(
                "eztaskmanager: run %s: its process %s outlived the terminate; its own "
                "thread or the reaper ends it.",
                report.pk,
                report.pid,
            )
            return False
        time.sleep(0.02)
    return True
