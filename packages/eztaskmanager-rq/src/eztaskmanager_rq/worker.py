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
connections closed afterwards (:func:`eztaskmanager.services.lookout.between_jobs`),
except the start of each work-horse's run, on the connection it hands the work-horse
(opened while the previous one ran, :mod:`eztaskmanager_rq.handover`) or else on one
kept until the worker is idle (:mod:`eztaskmanager_rq.headstart`); a work-horse forgets
the other connections it inherits (:mod:`eztaskmanager_rq.db`).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.utils.translation import gettext as _

from eztaskmanager.models import LaunchReport, ProcessHeartbeat
from eztaskmanager.services.lookout import Lookout, between_jobs
from eztaskmanager.services.spare_connections import spare_connection

# db's fork hook, registered in the worker before it forks, keeps work-horses off the
# worker's database connections.
from eztaskmanager_rq import compat, db
from eztaskmanager_rq.handover import handover
from eztaskmanager_rq.headstart import head_starts
from eztaskmanager_rq.jobs import RUN_FUNCTIONS

logger = logging.getLogger(__name__)

BACKEND_NAME = "rq"


def freeze_heap() -> None:
    """Leave what the started worker holds (Django, the apps, the ORM's caches) out of every
    garbage collection from now on, in the worker and in each work-horse.

    These objects live as long as the worker. Scanned by a work-horse's full collection,
    they cost each run 80 ms (measured in RQ's work-horses: one such collection per run)
    and every memory page the scan touches is copied from the worker's. The run's reads
    are compiled first, for the connection handle every work-horse inherits.
    """
    db.warm_orm()
    db.compile_run_reads_ahead()
    gc.collect()
    gc.freeze()


class RecoveringWorkerMixin:
    """What this package adds to an RQ worker class (see the module's docstring)."""

    # Seconds between two records of the worker's heartbeat in the database.
    heartbeat_record_interval: float = 10.0
    # The longest wait for a job between two heartbeats (RQ's own is worker_ttl - 15 s,
    # 405 s by default: too long for the admin to tell a live worker from a dead one).
    idle_heartbeat_seconds: int = 30
    # Seconds between two looks for runs whose worker is gone, besides the one at start.
    reap_interval: float = 60.0

    lookout: Lookout | None = None
    # How deep the worker is in the task manager's own work (see own_work()).
    _own_work_depth = 0
    # From a job's dequeue to its run: a stop held meanwhile lets that job run first.
    _job_in_hand = False

    @contextmanager
    def own_work(self, stop_after: bool = True) -> Iterator[None]:
        """The task manager's work in the worker between jobs (a heartbeat, a look for lost
        runs, a connection opened ahead), which logs its errors and goes on.

        A warm stop (SIGTERM, Ctrl-C) asked while the worker is not busy makes RQ raise
        ``StopRequested`` from the signal handler, wherever the worker is: in here it
        would be logged and ignored with the rest, and the worker would wait for jobs
        until stopped again. It waits for the end of this work instead, then stops the
        worker (``stop_after``), or is left to RQ's loop, which looks before each job.
        """
        self._own_work_depth += 1
        try:
            yield
        finally:
            self._own_work_depth -= 1
        stop = self._stop_requested  # type: ignore[attr-defined]
        if stop_after and stop and not self._own_work_depth and not self._busy():
            raise compat.StopRequested()

    def _shutdown(self) -> None:
        """A warm stop: held while the worker does its own work (see :meth:`own_work`)."""
        if self._own_work_depth and not self._busy():
            self._stop_requested = True
            if getattr(self, "scheduler", None):
                self.stop_scheduler()  # type: ignore[attr-defined]
            return
        super()._shutdown()  # type: ignore[misc]

    def _busy(self) -> bool:
        return self.get_state() == compat.WorkerStatus.BUSY  # type: ignore[attr-defined]

    @property
    def dequeue_timeout(self) -> int:
        return min(super().dequeue_timeout, self.idle_heartbeat_seconds)  # type: ignore[misc]

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)  # type: ignore[misc]
        self.lookout = Lookout(
            BACKEND_NAME,
            ProcessHeartbeat.KIND_WORKER,
            self.name,  # type: ignore[attr-defined]
            beat_every=self.heartbeat_record_interval,
            reap_every=self.reap_interval,
            host=self.hostname,  # type: ignore[attr-defined]
            pid=self.pid,  # type: ignore[attr-defined]
        )
        # The runs a predecessor lost, and the schedules Redis may have lost with it.
        self.lookout.tick(force=True, schedules=True)
        freeze_heap()

    def dequeue_job_and_maintain_ttl(self, *args: Any, **kwargs: Any) -> Any:
        self._job_in_hand = False
        return super().dequeue_job_and_maintain_ttl(*args, **kwargs)  # type: ignore[misc]

    def reorder_queues(self, *args: Any, **kwargs: Any) -> None:
        # RQ calls it right after it dequeued a job, before its last heartbeat: a stop
        # raised from there on would leave that job out of its queue and never run.
        self._job_in_hand = True
        super().reorder_queues(*args, **kwargs)  # type: ignore[misc]

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        super().heartbeat(*args, **kwargs)  # type: ignore[misc]
        if self.lookout is not None and not self.is_horse:  # type: ignore[attr-defined]
            # A stop held here stops the worker now, or after the job it has just dequeued
            # (RQ's loop looks for it before each job).
            with self.own_work(stop_after=not self._job_in_hand):
                self.lookout.tick()

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
        try:
            with between_jobs():
                for report in LaunchReport.objects.active().filter(job_id=job_id):
                    if end(report):
                        logger.warning("Run %s (job %s): %s", report.pk, job_id, report.reason)
        except Exception:
            logger.exception("Could not end the run of job %s", job_id)


class Worker(RecoveringWorkerMixin, compat.Worker):
    """RQ's forking worker, telling the task manager what it knows (see the module),
    handing each work-horse a database connection opened ahead of time
    (:mod:`eztaskmanager_rq.handover`), and starting its run on it meanwhile
    (:mod:`eztaskmanager_rq.headstart`)."""

    def execute_job(self, job: compat.Job, queue: Any) -> None:
        # Only the task manager's jobs get a connection: other jobs on the queue may not
        # use the database at all.
        ours = job.func_name in RUN_FUNCTIONS
        if ours:
            handover.arm()
        try:
            super().execute_job(job, queue)
        finally:
            # Not stopped from here: an error of the job's may be on its way up.
            with self.own_work(stop_after=False):
                handover.release()
                if ours and self.nothing_waiting():
                    # The next run's connection, if it could not be opened after the fork.
                    head_starts.rest()
                    handover.prepare()

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        handover.prepare()

    def nothing_waiting(self) -> bool:
        """Whether the worker's queues are empty (a job waiting would wait for a spare)."""
        try:
            return all(queue.is_empty() for queue in self.queues)
        except Exception:  # Redis away: the worker's own loop says so; no spare meanwhile
            return False

    def fork_work_horse(self, job: compat.Job, queue: Any) -> None:
        head_starts.plan(job, handover.armed)
        try:
            super().fork_work_horse(job, queue)  # returns in the worker only
        except BaseException:
            head_starts.abandon()
            raise
        handover.after_fork()
        # The run starts here while the work-horse gets ready (eztaskmanager_rq.headstart).
        head_starts.give(self.horse_pid, self.name)
        if job.func_name in RUN_FUNCTIONS:
            # The next work-horse's connection, opened while this one runs: in a burst,
            # each would otherwise open its own, after its command.
            handover.prepare()

    def main_work_horse(self, job: compat.Job, queue: Any) -> None:
        handover.adopt()  # in the work-horse, before anything else
        super().main_work_horse(job, queue)


class SimpleWorker(RecoveringWorkerMixin, compat.SimpleWorker):
    """RQ's worker that runs jobs in its own process: no work-horse to lose nor to kill;
    a Stop ends the run from inside (the core's helper thread). Where it does not keep its
    database connection between runs (``CONN_MAX_AGE = 0``), each run takes one opened
    while the worker waited (:class:`~eztaskmanager.services.spare_connections.SpareConnection`)."""

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        spare_connection.enabled = True

    def execute_job(self, job: compat.Job, queue: Any) -> None:
        if job.func_name not in RUN_FUNCTIONS:
            super().execute_job(job, queue)
            return
        # The spare's turn before and after the run (RQ's loop stops the worker after it).
        with self.own_work(stop_after=False), spare_connection.around_run():
            super().execute_job(job, queue)

    def teardown(self) -> None:
        spare_connection.close()
        super().teardown()
