"""Faults against real Celery processes on Redis: each run ends, once, with its reason.

Each test injects one fault (a killed process, two beats, two clicks, a timeout, a Stop
on a pool that cannot kill), waits for the report's final state, and records the time
from the fault to it (:mod:`.faultlog`). Targets: final within about a second where the
worker knows (its pool process died), within 60 s where the whole worker is gone.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from eztaskmanager.models import FiredDueTime, LaunchReport, ProcessHeartbeat, Task
from eztaskmanager.services.queues import TaskAlreadyRunning, get_task_service
from eztaskmanager_celery.tasks import RUN_TASK_NAME
from eztaskmanager_celery.timetable import run_job_id
from integration_tests.celery.conftest import purge
from integration_tests.celery.faultlog import (
    LIVE,
    LONG_RUN,
    record,
    seconds_since,
    wait_final,
    wait_running,
)
from testsupport.tasks import make_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KILLED = "Worker lost: its pool process was killed by signal 9 (SIGKILL)."


@pytest.fixture
def cluster(redis_cluster):
    return redis_cluster


def start_again_runs_ok(cluster, task, backend=None):
    """Start works on the task again, and its run ends ok (on a worker that is still there)."""
    Task.objects.filter(pk=task.pk).update(arguments="--limit=2,--sleep=0")
    again = (backend or get_task_service()).add(Task.objects.get(pk=task.pk))
    done = wait_final(again, cluster.output, 30)
    assert done.invocation_result == LaunchReport.RESULT_OK, done.get_log_lines()[-5:]


def test_a_pool_process_killed_mid_run_fails_at_once(cluster):
    task = make_task(LIVE, LONG_RUN, name="pool process killed")
    report = wait_running(get_task_service().add(task), cluster.output)
    os.kill(report.pid, signal.SIGKILL)
    killed_at = timezone.now()
    report = wait_final(report, cluster.output, 30)
    elapsed = seconds_since(report, killed_at)
    record("a. prefork pool process SIGKILL mid-run", elapsed, report.reason)
    # The worker's signal, with the cause: a reaper that sees the pid gone meanwhile
    # leaves the run to the worker, the pool process's parent, which lives on.
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason == KILLED
    assert elapsed < 5
    assert Task.objects.get(pk=task.pk).status == Task.STATUS_IDLE
    start_again_runs_ok(cluster, task)


def test_a_whole_worker_killed_mid_run_is_ended_by_the_reaper(cluster):
    queue = f"{settings.QUEUE}-doomed"
    purge(cluster.broker_url, queue)
    doomed = cluster.start_worker(queue=queue, label="doomed")
    try:
        # worker_ready recorded the worker (the admin lists it).
        assert ProcessHeartbeat.objects.filter(
            backend="celery",
            kind=ProcessHeartbeat.KIND_WORKER,
            name__startswith="eztm-redis-doomed@",
        ).exists()
        task = make_task(LIVE, LONG_RUN, name="whole worker killed")
        report = wait_running(cluster.backend(queue).add(task), cluster.output)
        os.killpg(doomed.process.pid, signal.SIGKILL)  # the main process and its pool
        killed_at = timezone.now()
        report = wait_final(report, cluster.output, 70)
    finally:
        cluster.stop_process("doomed")
    elapsed = seconds_since(report, killed_at)
    record("b. whole worker SIGKILL mid-run", elapsed, report.reason)
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason.startswith("Worker lost: "), report.reason
    assert elapsed < 60
    assert Task.objects.get(pk=task.pk).status == Task.STATUS_IDLE
    start_again_runs_ok(cluster, task)


def test_two_beats_fire_each_due_time_once(cluster):
    second = cluster.start_beat(label="second-beat")
    start = timezone.now() + timedelta(seconds=1)
    task = make_task(
        LIVE,
        "--limit=1,--sleep=0",
        name="two beats",
        scheduling=start,
        repetition_period="minute",
        repetition_rate=1,  # every 2 s, on the settings' test clock
    )
    try:
        get_task_service().add(task)
        time.sleep(16)
        get_task_service().stop_task(Task.objects.get(pk=task.pk))
        cluster.wait_for(lambda: not task.active_runs().exists(), 30, "the last run to end")
    finally:
        second_output = second.output
        cluster.stop_process("second-beat")
    reports = list(task.launchreport_set.all())
    job_ids = [report.job_id for report in reports]
    fired = list(FiredDueTime.objects.filter(task=task).values_list("due_at", flat=True))
    skipped = sum("was skipped" in line for r in reports for line in r.get_log_lines())
    # The beats' log lines for this task's due times ("... as beat-<task>-<due>").
    sent = [f" as {run_job_id(task.pk, due)}" for due in fired]
    sent_by = tuple(
        sum(output.count(line) for line in sent) for output in (cluster.beat.output, second_output)
    )
    record(
        "c. two beats on one periodic task for 16 s",
        None,
        f"{len(fired)} due times fired, {len(reports)} runs, {skipped} skipped, "
        f"{len(job_ids) - len(set(job_ids))} doubled; sent by each beat: {sent_by}",
    )
    assert len(fired) >= 5
    assert len(set(job_ids)) == len(job_ids), job_ids
    assert set(job_ids) <= {run_job_id(task.pk, due) for due in fired}
    assert sum(sent_by) == len(reports)
    # A due time claimed as Stop came has neither a run nor a skip line; no other.
    assert len(fired) - 1 <= len(reports) + skipped <= len(fired)
    assert all(report.invocation_result == LaunchReport.RESULT_OK for report in reports)


def test_two_starts_a_tenth_of_a_second_apart_give_one_run(cluster):
    task = make_task(LIVE, "--limit=5,--sleep=0.1", name="double start")
    outcomes: list[object] = []

    def click(delay: float) -> None:
        time.sleep(delay)
        try:
            outcomes.append(get_task_service().add(Task.objects.get(pk=task.pk)))
        except TaskAlreadyRunning as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()

    first_click = timezone.now()
    clicks = [threading.Thread(target=click, args=(delay,)) for delay in (0, 0.1)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)
    runs = [o for o in outcomes if isinstance(o, LaunchReport)]
    refused = [o for o in outcomes if isinstance(o, TaskAlreadyRunning)]
    assert (len(runs), len(refused)) == (1, 1), outcomes
    assert "is already" in str(refused[0])
    report = wait_final(runs[0], cluster.output, 30)
    time.sleep(1)
    assert task.launchreport_set.count() == 1
    record(
        "d. double Start 0.1 s apart", seconds_since(report, first_click), f"1 run: {refused[0]}"
    )
    assert report.invocation_result == LaunchReport.RESULT_OK


def test_stop_on_a_queued_run_means_it_never_runs(cluster):
    busy = make_task(LIVE, LONG_RUN, name="keeps the only worker busy")
    wait_running(get_task_service().add(busy), cluster.output)
    waiting = make_task(LIVE, "--limit=1,--sleep=0", name="queued behind it")
    queued = get_task_service().add(waiting)
    stopped_at = timezone.now()
    outcome = get_task_service().stop_task(Task.objects.get(pk=waiting.pk), by="the tests")
    report = LaunchReport.objects.get(pk=queued.pk)
    elapsed = seconds_since(report, stopped_at)
    assert outcome.stopped == 1
    get_task_service().stop_task(Task.objects.get(pk=busy.pk))
    cluster.worker.wait_for_output(f"Discarding revoked task: {RUN_TASK_NAME}[{queued.job_id}]", 10)
    report.refresh_from_db()
    record("e. Stop while queued", elapsed, report.reason)
    assert (report.invocation_result, report.reason) == (
        LaunchReport.RESULT_STOPPED,
        "Stopped by the tests before it started.",
    )
    assert report.n_log_lines == 1 and report.duration is None
    assert waiting.launchreport_set.count() == 1
    assert Task.objects.get(pk=waiting.pk).status == Task.STATUS_IDLE


def test_a_run_past_its_timeout_fails_saying_so(cluster):
    task = make_task(LIVE, LONG_RUN, name="times out", timeout=2)
    report = wait_running(get_task_service().add(task), cluster.output, lines=1)
    report = wait_final(report, cluster.output, 30)
    deadline = report.invocation_datetime + timedelta(seconds=2)
    elapsed = seconds_since(report, deadline)
    record("f. timeout of 2 s (from the deadline)", elapsed, report.reason)
    assert (report.invocation_result, report.reason) == (
        LaunchReport.RESULT_FAILED,
        "Timed out after 2 s.",
    )
    assert elapsed < 5
    assert Task.objects.get(pk=task.pk).status == Task.STATUS_IDLE


@pytest.mark.parametrize("pool", ["solo", "threads"])
def test_stop_on_a_pool_that_cannot_kill_stops_the_run(cluster, pool):
    queue = f"{settings.QUEUE}-{pool}"
    purge(cluster.broker_url, queue)
    worker = cluster.start_worker(pool=pool, queue=queue, label=pool)
    try:
        backend = cluster.backend(queue)
        task = make_task(LIVE, LONG_RUN, name=f"stopped on {pool}")
        report = wait_running(backend.add(task), cluster.output)
        stopped_at = timezone.now()
        get_task_service().stop_task(Task.objects.get(pk=task.pk), by="the tests")
        report = wait_final(report, cluster.output, 15)
        elapsed = seconds_since(report, stopped_at)
        lines = report.n_log_lines
        time.sleep(1.5)
        assert LaunchReport.objects.get(pk=report.pk).n_log_lines == lines
        assert worker.alive()
        start_again_runs_ok(cluster, task, backend)
    finally:
        cluster.stop_process(pool)
    record(f"g. Stop on the {pool} pool", elapsed, report.reason)
    assert report.invocation_result == LaunchReport.RESULT_STOPPED, report.get_log_lines()[-5:]
    assert report.reason.startswith("Stopped after "), report.reason
    assert elapsed < 5


def test_a_pool_process_killed_while_stopping_ends_stopped(cluster):
    task = make_task(LIVE, LONG_RUN, name="killed while stopping")
    report = wait_running(get_task_service().add(task), cluster.output)
    report.request_stop("the tests")
    os.kill(report.pid, signal.SIGKILL)
    killed_at = timezone.now()
    report = wait_final(report, cluster.output, 30)
    elapsed = seconds_since(report, killed_at)
    record("h. pool process SIGKILL while stopping", elapsed, report.reason)
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    # The worker's signal or the reaper (the pid is gone) say "Stopped: ..."; the run's own
    # thread, if it saw the stop first, "Stopped after N s.".
    assert report.reason.startswith(("Stopped: ", "Stopped after ")), report.reason
    assert elapsed < 5
    start_again_runs_ok(cluster, task)
