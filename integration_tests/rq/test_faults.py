"""Faults injected into real processes: every run ends, once, and says why; no due time runs twice.

Each test prints (and appends to ``test-output/faults-rq-<db>.txt``) a line
``FAULT <name>: final after X.XX s``: the time from the fault to the run's final state,
read from the report's own ``finished_at``. Bounds are generous (two cores shared with
other test runs); the printed figures are what to look at.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from eztaskmanager.exceptions import TaskAlreadyRunning
from eztaskmanager.models import FiredDueTime, LaunchReport, ProcessHeartbeat, Task
from eztaskmanager.processes import process_is_gone
from eztaskmanager_rq import compat
from testsupport.processes import ManagedProcess

from .cluster import client_ports, record_fault
from .conftest import wait_for
from .probe import notifier

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# A run that goes on for 100 s, one line every 0.1 s.
LONG = "--limit=1000, --sleep=0.1, --trace-steps=1"


def messages(report: LaunchReport) -> list[str]:
    return [line.split(" - ", 2)[2] for line in report.get_log_lines()]


def running(task: Task, cluster, lines: int = 3) -> LaunchReport:
    """The task's run, once a work-horse has started it and it has logged ``lines`` lines."""
    return wait_for(
        lambda: LaunchReport.objects.filter(
            task=task, state=LaunchReport.STATE_RUNNING, n_log_lines__gte=lines
        ).first(),
        60,
        f"a run of {task} to log {lines} lines",
        cluster,
    )


def final(report: LaunchReport, timeout: float, cluster) -> LaunchReport:
    """Poll the report closely until it is finished; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.state == LaunchReport.STATE_FINISHED:
            return report
        time.sleep(0.02)
    raise AssertionError(
        f"report {report.pk} not final after {timeout} s ({report.state}, "
        f"{messages(report)[-3:]})\n{cluster.output()}"
    )


def seconds_since(fault: float, report: LaunchReport) -> float:
    return report.finished_at.timestamp() - fault


def test_a_work_horse_killed_mid_run_fails_at_once_and_notifies(
    backend, cluster, task, notify_file
):
    t = task("--limit=30, --sleep=0.1, --trace-steps=1")
    backend.add(t)
    report = running(t, cluster)
    assert report.pid and report.pid != cluster.worker.process.pid  # a forked work-horse
    fault = time.time()
    os.kill(report.pid, signal.SIGKILL)
    report = final(report, 30, cluster)
    seconds = seconds_since(fault, report)
    record_fault("work-horse SIGKILL", seconds, "RQ's worker saw it")
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason == "Worker lost: its work-horse was killed (signal 9)."
    assert messages(report)[-1] == report.reason
    assert seconds < 5  # the target is well under 1 s
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE
    sent = wait_for(
        lambda: [n for n in notifier.read(notify_file) if n["report"] == report.pk],
        10,
        "the notification of the lost run",
        cluster,
    )
    assert sent == [{"report": report.pk, "result": "failed", "reason": report.reason}]
    # The worker lives on, and Start works again.
    assert cluster.worker.alive()
    again = backend.add(t)
    again = final(again, 60, cluster)
    assert again.invocation_result == LaunchReport.RESULT_OK, messages(again)[-3:]


def test_worker_and_work_horse_killed_then_a_new_worker_ends_the_run(backend, cluster, task):
    # Without the scheduler (which would end the run on its tick), the new worker's start does.
    cluster.stop_scheduler()
    try:
        t = task(LONG)
        backend.add(t)
        report = running(t, cluster)
        fault = time.time()
        os.kill(cluster.worker.process.pid, signal.SIGKILL)
        os.kill(report.pid, signal.SIGKILL)
        wait_for(lambda: not cluster.worker.alive(), 10, "the worker to die")
        time.sleep(1)
        report.refresh_from_db()
        assert report.state == LaunchReport.STATE_RUNNING  # nobody noticed yet
        new_worker_at = time.time()
        cluster.start_worker(wait=False)
        report = final(report, 90, cluster)
        seconds = seconds_since(fault, report)
        record_fault(
            "worker+work-horse SIGKILL",
            seconds,
            f"{seconds_since(new_worker_at, report):.2f} s after a new worker was started",
        )
        assert report.invocation_result == LaunchReport.RESULT_FAILED
        assert report.reason.startswith("Worker lost: its process ")
        assert report.reason.endswith(" is gone.")
        assert seconds < 65
        assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE
    finally:
        cluster.ensure()


def test_a_frozen_worker_is_lost_by_its_heartbeat_and_writes_nothing_when_it_thaws(
    backend, cluster, task
):
    """A whole worker that stops answering (a paused VM, a host gone from the network): its
    processes still exist, RQ still says the job is started; only the heartbeat tells."""
    bound = 6
    cluster.stop_scheduler()
    scheduler = ManagedProcess.manage(
        "rqscheduler",
        "--queue",
        cluster.queue,
        "--interval",
        "1",
        env={**cluster.env, "EZTASKMANAGER_RQ_HEARTBEAT_TIMEOUT": str(bound)},
    )
    frozen: list[int] = []
    try:
        scheduler.wait_for_output("Registering birth", timeout=60)
        t = task(LONG)
        backend.add(t)
        report = running(t, cluster)
        frozen = [cluster.worker.process.pid, report.pid]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        fault = time.time()
        report = final(report, bound + 30, cluster)
        seconds = seconds_since(fault, report)
        record_fault("whole worker frozen (SIGSTOP)", seconds, f"HEARTBEAT_TIMEOUT {bound} s")
        assert report.invocation_result == LaunchReport.RESULT_FAILED
        silent = re.match(r"Worker lost: no heartbeat for (\d+) s ", report.reason)
        assert silent and int(silent.group(1)) >= bound, report.reason
        assert bound - 1 <= seconds < bound + 20
        lines = report.n_log_lines
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        frozen = []
        # Thawed, the run finds itself ended and stops: nothing is added to its report.
        wait_for(lambda: process_is_gone(report.host_key, report.pid), 15, "the thawed run to stop")
        report.refresh_from_db()
        assert (report.n_log_lines, report.invocation_result) == (lines, "failed")
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        scheduler.stop()
        cluster.ensure()


def test_an_orphaned_work_horse_stops_on_stop_and_writes_nothing_after(backend, cluster, task):
    t = task(LONG)
    backend.add(t)
    report = running(t, cluster)
    os.kill(cluster.worker.process.pid, signal.SIGKILL)
    wait_for(lambda: not cluster.worker.alive(), 10, "the worker to die")
    # Its work-horse goes on alone, still logging.
    report.refresh_from_db()
    lines = report.n_log_lines
    wait_for(
        lambda: LaunchReport.objects.get(pk=report.pk).n_log_lines > lines + 3,
        10,
        "the orphaned work-horse to go on",
    )
    try:
        fault = time.time()
        backend.stop(report, by="the integration test")
        report = final(report, 30, cluster)
        seconds = seconds_since(fault, report)
        record_fault("worker SIGKILL (orphaned work-horse), then Stop", seconds)
        assert report.invocation_result == LaunchReport.RESULT_STOPPED
        assert seconds < 10
        kept = messages(report)
        assert kept[-1] == report.reason and report.reason.startswith("Stopped after ")
        wait_for(lambda: process_is_gone(report.host_key, report.pid), 15, "the work-horse to end")
        time.sleep(1)
        report.refresh_from_db()
        assert messages(report) == kept  # nothing written after the final state
        assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE
    finally:
        if not process_is_gone(report.host_key, report.pid):
            os.kill(report.pid, signal.SIGKILL)


def test_redis_restarted_empty_the_schedule_is_booked_again(
    backend, cluster, every_two_seconds, redis_server
):
    t = every_two_seconds()

    def runs() -> list[LaunchReport]:
        return list(LaunchReport.objects.filter(task=t).exclude(finished_at=None))

    wait_for(lambda: len(runs()) >= 2, 30, "two periodic runs", cluster)
    stale = 0.0
    with cluster.supervised() as supervisor:
        fault = time.time()
        redis_server.crash()
        time.sleep(1)  # Redis is down for a second, as in a restart
        redis_server.start()
        deadline = time.monotonic() + 90
        after: list[LaunchReport] = []
        while time.monotonic() < deadline and len(after) < 2:
            t.refresh_from_db()
            if t.cached_next_ride is not None:
                stale = max(stale, time.time() - t.cached_next_ride.timestamp())
            after = [r for r in runs() if r.invocation_datetime.timestamp() > fault]
            time.sleep(0.1)
        assert len(after) >= 2, f"no run after Redis restarted\n{cluster.output()}"
        restarted = [name for name, _at in supervisor.restarts]
    first = min(after, key=lambda r: r.finished_at)
    seconds = seconds_since(fault, first)
    record_fault(
        "Redis restarted empty (periodic task)",
        seconds,
        f"first run after it; next run shown stale for at most {max(stale, 0):.1f} s; "
        f"restarted by the supervisor: {', '.join(restarted) or 'nothing'}",
    )
    backend.stop_task(t, by="the integration test")
    reports = list(LaunchReport.objects.filter(task=t))
    job_ids = [r.job_id for r in reports]
    assert len(job_ids) == len(set(job_ids)), job_ids  # no job ran twice
    assert len(reports) <= FiredDueTime.objects.filter(task=t).count()  # each claimed a due time
    assert stale < 30
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")


def test_two_schedulers_run_each_due_time_once(backend, cluster, every_two_seconds):
    second = cluster.new_scheduler()
    cluster.extra.append(second)
    seen = len(cluster.worker.output)
    try:
        started = time.time()
        t = every_two_seconds()
        wait_for(
            lambda: LaunchReport.objects.filter(task=t).exclude(finished_at=None).count() >= 6,
            60,
            "six periodic runs",
            cluster,
        )
        backend.stop_task(t, by="the integration test")
        reports = list(LaunchReport.objects.filter(task=t))
        job_ids = [r.job_id for r in reports]
        fired = FiredDueTime.objects.filter(task=t).count()
        dropped = cluster.worker.output[seen:].count("has run already")
        assert len(job_ids) == len(set(job_ids)), job_ids
        assert len(reports) <= fired
        alive = ProcessHeartbeat.objects.filter(
            backend="rq", kind="scheduler", seen_at__gte=timezone.now() - timedelta(seconds=30)
        )
        assert alive.count() >= 2  # both ran
        record_fault(
            "two rqschedulers",
            time.time() - started,
            f"{len(reports)} runs, {fired} due times fired, {dropped} duplicate due times dropped",
        )
    finally:
        second.stop()


def test_double_start_runs_once_and_refuses_the_second(backend, cluster, task):
    t = task("--limit=10, --sleep=0.1")
    outcomes: list[object] = []

    def start() -> None:
        try:
            outcomes.append(backend.add(Task.objects.get(pk=t.pk)))
        except TaskAlreadyRunning as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    first_click = time.time()
    first = threading.Thread(target=start)
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=start)
    second.start()
    first.join()
    second.join()
    [report] = [o for o in outcomes if isinstance(o, LaunchReport)]
    [refused] = [o for o in outcomes if isinstance(o, TaskAlreadyRunning)]
    assert "already queued" in str(refused) or "already running" in str(refused)
    report = final(report, 60, cluster)
    record_fault("double Start 0.1 s apart", seconds_since(first_click, report), "one run")
    assert report.invocation_result == LaunchReport.RESULT_OK
    assert LaunchReport.objects.filter(task=t).count() == 1


def test_stop_while_queued_never_runs(backend, cluster, task):
    busy = task(LONG)
    backend.add(busy)
    busy_report = running(busy, cluster)
    t = task()
    report = backend.add(t)
    assert report.state == LaunchReport.STATE_QUEUED
    fault = time.time()
    assert backend.stop(report, by="the integration test") == LaunchReport.STATE_FINISHED
    report = final(report, 10, cluster)
    record_fault("Stop while queued", seconds_since(fault, report))
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    assert report.reason == "Stopped by the integration test before it started."
    assert backend.fetch_job(report.job_id) is None  # taken off the queue
    backend.stop(busy_report, by="the integration test")
    final(busy_report, 30, cluster)
    time.sleep(1.5)  # the worker is free: a job left behind would run now
    assert messages(LaunchReport.objects.get(pk=report.pk)) == [report.reason]
    assert LaunchReport.objects.filter(task=t).count() == 1
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE


def test_a_run_past_its_timeout_fails_saying_so(backend, cluster, task):
    t = task(LONG, timeout=2)
    report = backend.add(t)
    report = final(report, 60, cluster)
    deadline = report.invocation_datetime.timestamp() + 2
    record_fault("timeout", seconds_since(deadline, report), "after the run's 2 s were up")
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason == "Timed out after 2 s."
    assert messages(report)[-1] == report.reason
    # The core's deadline came first: RQ's own (2 s + 30 s) never fired.
    job = backend.fetch_job(report.job_id)
    assert job.timeout == 32
    wait_for(lambda: compat.job_status(job) == "finished", 10, "the job to finish", cluster)


@pytest.mark.skipif(
    os.environ.get("EZTASKMANAGER_TEST_DB") != "postgres",
    reason="kills a PostgreSQL server connection (pg_terminate_backend)",
)
def test_a_run_whose_database_connection_is_killed_goes_on_and_keeps_its_lines(
    backend, cluster, task
):
    limit = 40
    t = task(f"--limit={limit}, --sleep=0.05, --trace-steps=1")
    backend.add(t)
    report = running(t, cluster, lines=5)
    ports = client_ports(report.pid)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND client_port = ANY(%s)",
            [sorted(ports)],
        )
        killed = sum(1 for (done,) in cursor.fetchall() if done)
    fault = time.time()
    assert killed >= 1, f"no connection of work-horse {report.pid} found (ports {ports})"
    report = final(report, 90, cluster)
    lines = messages(report)
    expected = limit + 2  # "Start", one line per step, "Finished"
    lost = [line for line in lines if "log lines were lost" in line]
    record_fault(
        "PostgreSQL connection of the run killed",
        seconds_since(fault, report),
        f"{killed} connection(s) killed; {report.n_log_lines} of {expected} lines kept",
    )
    assert report.invocation_result == LaunchReport.RESULT_OK, lines[-5:]
    assert report.n_log_lines == expected or lost, lines
    assert lines[0] == "Start" and lines[-1] == "Finished"
