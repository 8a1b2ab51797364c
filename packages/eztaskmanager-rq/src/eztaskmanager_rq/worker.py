"""RQ workers that tell the task manager at once what RQ knows first.

Use them with django-rq's ``RQ = {"WORKER_CLASS": "eztaskmanager_rq.worker.Worker"}`` or
``manage.py rqworker --worker-class eztaskmanager_rq.worker.Worker``. On top of RQ's own
worker they

- record the worker's heartbeat in the database (``ProcessHeartbeat``), where RQ beats in
  Redis, so the admin can show which workers are alive;
- end the runs that their predecessors lost when they start, and check for lost runs
  now and then (the core's :func:`~eztaskmanager.services.recovery.recover`);
- end a run at once when RQ sees its work-horse die (killed by the out-of-memory killer
  or ``kill -9``): ``failed``, "Worker lost: its work-horse was killed (signal 9).";
- end a run ``stopped`` as soon as RQ has killed its work-horse on a stop command.

All their database work happens in the worker's own process, between jobs, on
connections closed afterwards (:func:`eztaskmanager_rq.db.outside_jobs`), so that no
work-horse inherits one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from eztaskmanager.services.recovery import Every
from eztaskmanager_rq import compat, db

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport

logger = logging.getLogger(__name__)

BACKEND_NAME = "rq"


class RecoveringWorkerMixin:
    """What this package adds to an RQ worker class (see the module's docstring)."""

    # Seconds between two records of the worker's heartbeat in the database.
    heartbeat_record_interval: float = 10.0
    # The longest wait for a job between two heartbeats (RQ's own is worker_ttl - 15 s,
    # 405 s by default: too long for the admin to tell a live worker from a dead one).
    idle_heartbeat_seconds: int = 30
    # Seconds between two looks for runs whose worker is gone, besides the one at start.
    reap_interval: float = 60.0

    _recorded_at: float = float("-inf")
    _reap_gate: Every | None = None

    @property
    def dequeue_timeout(self) -> int:
        return min(super().dequeue_timeout, self.idle_heartbeat_seconds)  # type: ignore[misc]

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)  # type: ignore[misc]
        self._reap_gate = Every(self.reap_interval)
        self._reap_gate()  # the first look is the one below
        self.record_alive(force=True)
        self.recover_lost(schedules=True)

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        super().heartbeat(*args, **kwargs)  # type: ignore[misc]
        if not self.is_horse:  # type: ignore[attr-defined]
            self.record_alive()

    def record_alive(self, force: bool = False) -> None:
        """Record the worker's heartbeat (at most every ``heartbeat_record_interval``)."""
        from eztaskmanager.models import ProcessHeartbeat

        now = time.monotonic()
        if not force and now - self._recorded_at < self.heartbeat_record_interval:
            return
        self._recorded_at = now
        try:
            with db.outside_jobs():
                ProcessHeartbeat.beat(
                    BACKEND_NAME,
                    ProcessHeartbeat.KIND_WORKER,
                    self.name,  # type: ignore[attr-defined]
                    self.hostname or socket.gethostname(),  # type: ignore[attr-defined]
                    self.pid or os.getpid(),  # type: ignore[attr-defined]
                )
        except Exception as exc:  # the database may be away for a while: RQ goes on
            logger.warning("Could not record the heartbeat of worker %s: %s", self.name, exc)  # type: ignore[attr-defined]
        if self._reap_gate is not None and self._reap_gate():
            self.recover_lost(schedules=False)

    def recover_lost(self, schedules: bool) -> None:
        """End the runs whose worker is gone (and, with ``schedules``, book lost schedules)."""
        from eztaskmanager.registry import get_backend
        from eztaskmanager.services.recovery import recover

        try:
            with db.outside_jobs():
                recover(get_backend(), schedules=schedules)
        except Exception:
            logger.exception("Could not look for lost runs and schedules")

    # What RQ knows first ----------------------------------------------------------------------
    def handle_work_horse_killed(
        self, job: compat.Job, retpid: Any, ret_val: Any, rusage: Any
    ) -> None:
        """RQ saw the work-horse of ``job`` end without finishing it: its run is lost."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)  # type: ignore[misc]
        reason = _("Worker lost: its work-horse %(how)s.") % {"how": compat.horse_end_text(ret_val)}
        self.end_runs_of(job.id, lambda report: report.lost(reason))

    def _handle_stopped_job(self, job: compat.Job, *args: Any, **kwargs: Any) -> None:
        """RQ killed the work-horse of ``job`` on a stop command: its run has stopped."""
        from eztaskmanager.models import LaunchReport

        reason = _("Stopped: the worker killed its work-horse.")
        self.end_runs_of(
            job.id,
            lambda report: report.finish(
                LaunchReport.RESULT_STOPPED, reason, states=LaunchReport.RUNNING_STATES
            ),
        )
        super()._handle_stopped_job(job, *args, **kwargs)  # type: ignore[misc]

    def end_runs_of(self, job_id: str, end: Callable[[LaunchReport], bool]) -> None:
        """Apply ``end`` to the runs of the job ``job_id`` that have not ended; never raises."""
        from eztaskmanager.models import LaunchReport

        try:
            with db.outside_jobs():
                for report in LaunchReport.objects.active().filter(job_id=job_id):
                    if end(report):
                        logger.warning("Run %s (job %s): %s", report.pk, job_id, report.reason)
        except Exception:
            logger.exception("Could not end the run of job %s", job_id)


class Worker(RecoveringWorkerMixin, compat.Worker):
    """RQ's forking worker, telling the task manager what it knows (see the module)."""


class SimpleWorker(RecoveringWorkerMixin, compat.SimpleWorker):
    """RQ's worker that runs jobs in its own process: no work-horse to lose nor to kill;
    a Stop ends the run from inside (the core's helper thread)."""
