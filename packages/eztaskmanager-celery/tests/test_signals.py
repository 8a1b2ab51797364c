"""The worker's signals, sent as Celery sends them, end real reports through the core."""

import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from billiard.exceptions import TimeLimitExceeded, WorkerLostError
from celery import signals
from django.utils import timezone

from eztaskmanager.models import LaunchReport, ProcessHeartbeat, Task
from eztaskmanager.processes import host_key
from eztaskmanager_celery import signals as receivers
from eztaskmanager_celery import worker
from eztaskmanager_celery.tasks import run_management_command

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
KILLED = "Worker exited prematurely: signal 9 (SIGKILL) Job: 3."


class Fake(SimpleNamespace):
    """A stand-in for Celery's objects; hashable, as signal senders must be."""

    __hash__ = object.__hash__


@pytest.fixture
def dead_pid():
    """The id of a process of this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def running(task, job_id="job-1", pid=None, timeout=None, stopping=False):
    """A run of ``task`` that a worker process ``pid`` of this host has started."""
    t = task(LIVE, timeout=timeout)
    t.queue_run(job_id, timeout=timeout)
    report = LaunchReport.objects.start_run(
        t.pk, job_id, worker="celery@unit", pid=pid, host_key=host_key()
    )
    if stopping:
        report.request_stop("tester")
    return report


def final(report):
    report.refresh_from_db()
    return report.state, report.invocation_result, report.reason


def test_a_killed_pool_process_fails_the_run_at_once(app, task, dead_pid):
    report = running(task, pid=dead_pid)
    signals.task_failure.send(
        sender=run_management_command, task_id="job-1", exception=WorkerLostError(KILLED)
    )
    assert final(report) == (
        LaunchReport.STATE_FINISHED,
        LaunchReport.RESULT_FAILED,
        "Worker lost: its pool process was killed by signal 9 (SIGKILL).",
    )
    assert report.get_log_lines()[-1].endswith(report.reason)
    assert Task.objects.get(pk=report.task_id).status == Task.STATUS_IDLE


def test_a_killed_pool_process_of_a_stopping_run_ends_it_stopped(app, task, dead_pid):
    report = running(task, pid=dead_pid, stopping=True)
    signals.task_failure.send(
        sender=run_management_command, task_id="job-1", exception=WorkerLostError(KILLED)
    )
    assert final(report) == (
        LaunchReport.STATE_FINISHED,
        LaunchReport.RESULT_STOPPED,
        "Stopped: its pool process was killed by signal 9 (SIGKILL).",
    )


def test_a_pool_process_that_exited_names_its_code(app, task, dead_pid):
    report = running(task, pid=dead_pid)
    signals.task_failure.send(
        sender=run_management_command,
        task_id="job-1",
        exception=WorkerLostError("Worker exited prematurely: exitcode 70 Job: 1."),
    )
    assert final(report)[2] == "Worker lost: its pool process exited with code 70."


def test_the_hard_time_limit_says_the_run_timed_out(app, task, dead_pid):
    report = running(task, pid=dead_pid, timeout=30)
    signals.task_failure.send(
        sender=run_management_command, task_id="job-1", exception=TimeLimitExceeded(45)
    )
    assert final(report)[1:] == (
        LaunchReport.RESULT_FAILED,
        "Timed out after 30 s: the worker killed it.",
    )


def test_another_tasks_failure_is_none_of_our_business(app, task, dead_pid):
    report = running(task, pid=dead_pid)
    other = Fake(name="proj.tasks.something_else")
    signals.task_failure.send(sender=other, task_id="job-1", exception=WorkerLostError(KILLED))
    assert final(report)[0] == LaunchReport.STATE_RUNNING


def test_a_run_that_ended_by_itself_stays_as_it_ended(app, task, dead_pid):
    report = running(task, pid=dead_pid)
    report.finish(LaunchReport.RESULT_OK)
    signals.task_failure.send(
        sender=run_management_command, task_id="job-1", exception=WorkerLostError(KILLED)
    )
    assert final(report)[1] == LaunchReport.RESULT_OK


def revoked(job_id, **fields):
    signals.task_revoked.send(
        sender=run_management_command, request=SimpleNamespace(id=job_id), **fields
    )


def test_a_terminated_stopping_run_ends_stopped_once_its_process_is_gone(app, task, dead_pid):
    report = running(task, pid=dead_pid, stopping=True)
    revoked("job-1", terminated=True, signum=9, expired=False)
    assert final(report) == (
        LaunchReport.STATE_FINISHED,
        LaunchReport.RESULT_STOPPED,
        "Stopped: the worker killed its process (signal 9).",
    )
    assert Task.objects.get(pk=report.task_id).status == Task.STATUS_IDLE


def test_a_terminate_whose_process_lives_on_leaves_the_run_to_its_thread(app, task, monkeypatch):
    monkeypatch.setattr(receivers, "PROCESS_GONE_WAIT", 0.1)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        report = running(task, pid=sleeper.pid, stopping=True)
        revoked("job-1", terminated=True, signum=15, expired=False)
        assert final(report)[0] == LaunchReport.STATE_STOPPING
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_queued_run_revoked_in_celery_ends_stopped(app, task):
    t = task(LIVE)
    report = t.queue_run("job-2")
    revoked("job-2", terminated=False, signum=None, expired=False)
    assert final(report)[1:] == (
        LaunchReport.RESULT_STOPPED,
        "Revoked in Celery before it started.",
    )


def test_a_queued_run_whose_message_expired_fails(app, task):
    report = task(LIVE).queue_run("job-3")
    revoked("job-3", terminated=False, signum=None, expired=True)
    assert final(report)[1] == LaunchReport.RESULT_FAILED


@pytest.mark.django_db(transaction=True)
def test_worker_ready_records_the_worker_and_ends_what_a_dead_worker_left(app, task, dead_pid):
    report = running(task, pid=dead_pid)
    LaunchReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=10)
    )
    consumer = Fake(hostname="celery@unit-worker", timer=None, pool=None)
    try:
        signals.worker_ready.send(sender=consumer)
        assert final(report)[1:] == (
            LaunchReport.RESULT_FAILED,
            "Worker lost: its process celery@unit is gone.",
        )
        row = ProcessHeartbeat.objects.get(backend="celery", kind=ProcessHeartbeat.KIND_WORKER)
        assert row.name == "celery@unit-worker"
        assert worker._watch is not None and worker._watch._thread.is_alive()
    finally:
        signals.worker_shutdown.send(sender=None)
    worker._watch._thread.join(5)
    assert not worker._watch._thread.is_alive()


def test_the_worker_watch_uses_the_workers_timer_outside_the_solo_pool(app):
    calls = []
    timer = SimpleNamespace(call_repeatedly=lambda secs, fun: calls.append((secs, fun)))
    watch = worker.WorkerWatch("celery@unit")
    watch.start(SimpleNamespace(timer=timer, pool=object()))
    assert calls == [(worker.HEARTBEAT_EVERY, watch.tick)]
    assert watch._thread is None


def test_the_prefork_pool_is_checked_often_for_dead_processes(app):
    """A workaround (compat.py): after a terminate, Celery 5.7 notices a dead pool process
    only on its 5-s maintenance timer; the worker's loop runs that check every 0.5 s."""
    from celery.concurrency.asynpool import AsynPool

    calls = []
    timer = SimpleNamespace(call_repeatedly=lambda secs, fun: calls.append((secs, fun)))
    pool = SimpleNamespace(_pool=AsynPool.__new__(AsynPool), maintain_pool=lambda: None)
    watch = worker.WorkerWatch("celery@unit")
    watch.start(SimpleNamespace(timer=timer, pool=pool))
    assert calls == [(0.5, pool.maintain_pool), (worker.HEARTBEAT_EVERY, watch.tick)]


def test_a_hard_limit_of_the_projects_own_settings_says_so(app, task, dead_pid):
    report = running(task, pid=dead_pid)  # no timeout of its own
    signals.task_failure.send(
        sender=run_management_command, task_id="job-1", exception=TimeLimitExceeded(300)
    )
    assert final(report)[2] == "Timed out after 300 s: the worker killed it."


def test_a_runner_that_failed_ends_its_run_with_the_error(app, task, dead_pid):
    report = running(task, pid=dead_pid)
    signals.task_failure.send(
        sender=run_management_command, task_id="job-1", exception=RuntimeError("database gone")
    )
    assert final(report)[1:] == (
        LaunchReport.RESULT_FAILED,
        "Failed in the worker: RuntimeError('database gone')",
    )
