"""The worker classes: what RQ knows first (a killed or stopped work-horse) reaches the run at once.

These run RQ's real forking worker in the test process (burst mode): its work-horses are
real forked processes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from eztaskmanager.models import LaunchReport, ProcessHeartbeat, Task
from eztaskmanager.models.compiled import COMPILED_READS
from eztaskmanager.processes import host_key
from eztaskmanager.registry import get_backend
from eztaskmanager.services.queues import JobState
from eztaskmanager.services.recovery import reap
from eztaskmanager_rq import compat
from eztaskmanager_rq.worker import SimpleWorker, Worker

from .helpers import run_worker, work

pytestmark = [
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
    pytest.mark.usefixtures("keep_signal_handlers", "unfreeze"),
]


def running_report(task, job_id: str) -> LaunchReport:
    """A run that a work-horse has started, as the runner records it."""
    return LaunchReport.objects.start_run(task.pk, job_id, worker="w (pid 1)", pid=1)


def test_rq_still_has_the_methods_the_worker_extends():
    for hook in (compat.HORSE_KILLED_HOOK, compat.STOPPED_JOB_HOOK):
        assert callable(getattr(compat.Worker, hook, None)), hook
    for hook in (compat.JOB_DEQUEUED_HOOK, compat.WARM_STOP_HOOK):
        for worker_class in (compat.Worker, compat.SimpleWorker):
            assert callable(getattr(worker_class, hook, None)), (worker_class, hook)


def test_a_killed_work_horse_ends_its_run_at_once(backend, task):
    t = task()
    report = t.queue_run("killed-job")
    backend.queue.enqueue_call("tests.helpers.kill_myself", job_id="killed-job")
    run_worker(backend)
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "failed")
    assert report.reason == "Worker lost: its work-horse was killed (signal 9)."
    assert report.get_log_lines()[-1].endswith(report.reason)
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE
    # What RQ itself says of the job, as the reaper would read it.
    info = backend.job_state("killed-job")
    assert info.state == JobState.ENDED
    assert (
        info.detail == "failed: Work-horse terminated unexpectedly; waitpid returned 9 (signal 9)"
    )


class LookoutInTheWay(Worker):
    """Records its work-horse on the run as the runner would, and lets a lookout (another
    worker's or the scheduler's) look for lost runs once RQ has reaped the killed
    work-horse, before the worker's own hook."""

    report: LaunchReport
    lookout_ended: list[str]

    def fork_work_horse(self, job, queue):
        super().fork_work_horse(job, queue)
        LaunchReport.objects.filter(pk=self.report.pk).update(
            pid=self.horse_pid, host_key=host_key(), parent_pid=os.getpid()
        )

    def handle_work_horse_killed(self, job, *args):
        self.lookout_ended = reap(get_backend())
        super().handle_work_horse_killed(job, *args)


def test_a_lookout_leaves_a_killed_work_horse_to_the_worker_that_says_how_it_died(backend, task):
    t = task()
    t.queue_run("killed-job")
    LookoutInTheWay.report = running_report(t, "killed-job")
    backend.queue.enqueue_call("tests.helpers.kill_myself", job_id="killed-job")
    worker = run_worker(backend, LookoutInTheWay)
    assert worker.lookout_ended == []  # the process is gone, but its worker lives
    report = LaunchReport.objects.get(pk=LookoutInTheWay.report.pk)
    assert report.reason == "Worker lost: its work-horse was killed (signal 9)."


def test_a_work_horse_inherits_a_frozen_heap_and_the_runs_reads_compiled(backend, db, monkeypatch):
    """Its collections skip what the worker holds (a full one took 80 ms of each run), and
    a work-horse that opens its own connection (no spare) compiles no read of the run."""
    # As in a new worker: nothing compiled for its connection handle yet.
    monkeypatch.setattr(connections["default"], COMPILED_READS, {})
    job = backend.queue.enqueue_call("tests.helpers.what_a_work_horse_inherits")
    run_worker(backend)
    inherited = job.return_value()
    assert inherited["compiled"] == [True] * 5
    assert inherited["frozen"] > 20_000  # Django and the apps, at least


def test_a_work_horse_killed_on_a_stop_command_ends_its_run_stopped(backend, task):
    t = task()
    job = backend.queue.enqueue_call("tests.helpers.sleep_long", job_id="stopped-job")
    report = running_report(t, job.id)
    report.request_stop("tests")

    def stop_when_started() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            current = backend.fetch_job(job.id)
            if compat.job_status(current) == "started" and current.worker_name:
                compat.send_stop_job_command(backend.connection, job.id)
                return
            time.sleep(0.05)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    started = time.monotonic()
    run_worker(backend)
    stopper.join()
    assert time.monotonic() - started < 30  # not the job's 60 s
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "stopped")
    assert report.reason == "Stopped: the worker killed its work-horse."
    assert compat.job_status(job) == "stopped"


def test_a_starting_worker_ends_the_runs_its_predecessor_lost(backend, task):
    t = task()
    report = running_report(t, "old-job")
    LaunchReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=90)
    )
    run_worker(backend)
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason.startswith("Worker lost: no heartbeat for 9")


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
def test_the_worker_records_its_heartbeat(db, backend, worker_class):
    worker = run_worker(backend, worker_class)
    beat = ProcessHeartbeat.objects.get(name=worker.name)
    assert (beat.backend, beat.kind, beat.pid) == ("rq", "worker", worker.pid)
    assert beat.age < timedelta(seconds=30)


def test_an_idle_worker_beats_often_enough_to_be_seen_alive(db, backend):
    worker = Worker([backend.queue], connection=backend.connection)
    assert worker.dequeue_timeout == 30  # RQ's own: 405 s


def test_the_simple_worker_runs_tasks(backend, task, django_capture_on_commit_callbacks):
    t = task()
    with django_capture_on_commit_callbacks(execute=True):
        backend.add(t)
    run_worker(backend, SimpleWorker)
    assert LaunchReport.objects.get(task=t).invocation_result == LaunchReport.RESULT_OK
    work(backend)  # nothing left


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
@pytest.mark.parametrize("job_waiting", [False, True], ids=["idle", "a job just dequeued"])
def test_a_warm_stop_that_lands_in_the_workers_own_work_stops_it(
    db, backend, worker_class, job_waiting, monkeypatch
):
    """SIGTERM while the worker records its heartbeat in the database: RQ raises its stop
    there, inside work that logs its errors and goes on. The worker stops all the same,
    at once, not when stopped a second time (a cold stop); a job it has just taken from
    its queue runs first, rather than being lost."""
    job = backend.queue.enqueue_call("os.getpid") if job_waiting else None
    worker = worker_class([backend.queue], connection=backend.connection)
    worker.heartbeat_record_interval = 0  # a record on every heartbeat, the first one too
    beat = ProcessHeartbeat.beat
    sent: list[float] = []

    def beat_and_get_stopped(*args, **kwargs):
        # Once the worker's own handler is in place (not during its start), and once it
        # holds the job, if one waits.
        handler_set = signal.getsignal(signal.SIGTERM) == worker.request_stop
        if not sent and handler_set and worker._job_in_hand == job_waiting:
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGTERM)  # handled here, in the middle of the record
        return beat(*args, **kwargs)

    monkeypatch.setattr(ProcessHeartbeat, "beat", beat_and_get_stopped)
    # The safety net: a cold stop, 10 s later, of a worker that kept waiting for jobs.
    cold = threading.Timer(10, os.kill, (os.getpid(), signal.SIGTERM))
    cold.start()
    try:
        worker.work(burst=False)
        stopped = time.monotonic()
    except SystemExit:
        pytest.fail("the worker went on after a warm stop, until a second SIGTERM")
    finally:
        cold.cancel()
    assert sent and stopped - sent[0] < 5
    if job is not None:
        assert job.get_status(refresh=True) == compat.JobStatus.FINISHED
