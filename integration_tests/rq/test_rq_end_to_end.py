"""End to end: tasks started, scheduled and stopped through the backend, run by real processes."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager_rq import compat
from testsupport.net import free_port
from testsupport.tasks import make_task

from .conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished_reports(task):
    return list(LaunchReport.objects.filter(task=task).exclude(finished_at=None))


def messages(report):
    return [line.split(" - ", 2)[2] for line in report.get_log_lines()]


def scheduled_jobs_of(backend, task):
    ids = [raw.decode() for raw in backend.connection.zrange(compat.SCHEDULED_JOBS_KEY, 0, -1)]
    jobs = [backend.fetch_job(job_id) for job_id in ids]
    return [j.id for j in jobs if j and j.origin == backend.queue_name and j.args == (task.pk,)]


def test_run_now(backend, worker, task):
    t = task("--limit=5, --sleep=0")
    backend.add(t)
    assert Task.objects.get(pk=t.pk).status in (Task.STATUS_SPOOLED, Task.STATUS_STARTED, "idle")
    [report] = wait_for(lambda: finished_reports(t), 30, "the run to finish", worker)
    assert report.invocation_result == LaunchReport.RESULT_OK
    assert messages(report)[0] == "Start" and messages(report)[-1] == "Finished"
    assert report.job_id
    # The report is finished first, then the task's status restored.
    wait_for(lambda: Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE, 10, "idle", worker)


def test_run_now_with_other_arguments_runs_them_once(backend, worker, task):
    t = task("--limit=1, --sleep=0")
    queued = backend.run_once(t, "--limit=3, --sleep=0, --warning-prob=1")
    [report] = wait_for(lambda: finished_reports(t), 30, "the run to finish", worker)
    assert report.pk == queued.pk
    assert (report.invocation_result, report.n_log_warnings) == (LaunchReport.RESULT_WARNINGS, 3)
    assert (report.arguments, report.custom_arguments) == (
        "--limit=3, --sleep=0, --warning-prob=1",
        True,
    )
    t.refresh_from_db()
    assert (t.arguments, t.status) == ("--limit=1, --sleep=0", Task.STATUS_IDLE)


def test_a_chain_runs_its_followers_after_an_ok_run(backend, worker, task):
    first = task("--limit=2, --sleep=0")
    then = task("--limit=1, --sleep=0", follows=first)
    on_any = task("--limit=1, --sleep=0", follows=first, follows_on="any")
    backend.add(first)
    for follower in (then, on_any):
        [report] = wait_for(lambda f=follower: finished_reports(f), 30, "the follower", worker)
        assert report.invocation_result == LaunchReport.RESULT_OK
        assert messages(report)[0] == "Started after live logging ended: OK."
    assert len(finished_reports(first)) == 1


def test_a_failed_run_is_tried_again_as_its_own_report(backend, worker, task):
    t = make_task("test_failing_command", retries=1, retry_delay=1, name="failing")
    first = backend.add(t)
    reports = wait_for(
        lambda: len(finished_reports(t)) == 2 and finished_reports(t), 30, "2 runs", worker
    )
    retry = next(r for r in reports if r.pk != first.pk)
    assert [r.invocation_result for r in reports] == ["failed", "failed"]
    assert (retry.attempt, retry.first_attempt_id) == (2, first.pk)
    assert retry.invocation_datetime >= retry.not_before
    assert messages(retry)[0] == "Attempt 2 of 2, after attempt 1 failed."
    time.sleep(2)  # a third attempt would show by now
    assert LaunchReport.objects.filter(task=t).count() == 2


def test_a_cron_schedule_runs_again_and_again_until_stopped(backend, worker, task):
    t = task("--limit=1, --sleep=0", cron="* * * * *")  # every minute: 2 s on the test clock
    backend.add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_SCHEDULED
    wait_for(lambda: len(finished_reports(t)) >= 2, 30, "two cron runs", worker)
    backend.stop_task(Task.objects.get(pk=t.pk))
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")
    assert scheduled_jobs_of(backend, t) == []


def test_progress_is_stored_while_the_run_goes_on_and_at_its_end(backend, worker, task):
    t = task("--limit=30, --sleep=0.1")  # 3 s, reporting each iteration
    backend.add(t)

    def bars_midway():
        report = LaunchReport.objects.filter(task=t, state="running").first()
        bars = report.progress.get("bars") if report else None
        return bars if bars and 0 < bars[0]["current"] < 30 else None

    [bar] = wait_for(bars_midway, 30, "progress while it runs", worker)
    assert (bar["group"], bar["total"]) == (["Iterations"], 30)
    [report] = wait_for(lambda: finished_reports(t), 30, "the run to finish", worker)
    assert report.progress["bars"][0]["current"] == 30


def test_one_off_in_three_seconds_runs_exactly_once(backend, worker, task):
    at = timezone.now() + timedelta(seconds=3)
    t = task(scheduling=at)
    backend.add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_SCHEDULED
    assert t.cached_next_ride == at.replace(microsecond=0)
    [report] = wait_for(lambda: finished_reports(t), 30, "the scheduled run", worker)
    assert report.invocation_datetime >= at.replace(microsecond=0)
    time.sleep(3)  # the scheduler polls every second: a second run would show by now
    assert len(finished_reports(t)) == 1
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (Task.STATUS_IDLE, "", None)
    assert scheduled_jobs_of(backend, t) == []


def test_periodic_runs_until_stopped(backend, worker, every_two_seconds):
    t = every_two_seconds()
    rides = set()

    def next_ride_matches_redis() -> bool:
        """The task shows the time rq-scheduler holds for its one scheduled job."""
        t.refresh_from_db()
        if t.status != Task.STATUS_SCHEDULED:
            return False
        rides.add(t.cached_next_ride)
        in_redis = compat.scheduled_time(backend.connection, t.scheduled_job_id)
        return in_redis == t.cached_next_ride and scheduled_jobs_of(backend, t) == [
            t.scheduled_job_id
        ]

    def three_runs() -> bool:
        next_ride_matches_redis()  # note the next run shown along the way
        return len(finished_reports(t)) >= 3

    wait_for(three_runs, 40, "three periodic runs", worker)
    wait_for(next_ride_matches_redis, 10, "the next run shown as in Redis", worker)
    assert len(rides) >= 3  # it moved on after each run
    backend.stop_task(t, by="the integration test")
    t.refresh_from_db()
    count = LaunchReport.objects.filter(task=t).count()
    time.sleep(5)  # two and a half periods
    assert LaunchReport.objects.filter(task=t).count() == count
    assert scheduled_jobs_of(backend, t) == []
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")


def test_stop_a_running_task(backend, worker, task):
    t = task("--limit=1000, --sleep=0.1, --trace-steps=1")
    backend.add(t)
    report = wait_for(
        lambda: LaunchReport.objects.filter(task=t, n_log_lines__gte=5).first(),
        30,
        "the long run to log a few lines",
        worker,
    )
    started = time.monotonic()
    assert backend.stop(report, by="the integration test") == LaunchReport.STATE_FINISHED
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    assert time.monotonic() - started < 5
    lines = messages(report)
    assert "Stop requested by the integration test." in lines
    # The worker killed the work-horse (or, first, the run's own thread stopped it).
    assert lines[-1] == report.reason
    assert report.reason == "Stopped: the worker killed its work-horse." or (
        report.reason.startswith("Stopped after ")
    )
    assert "Finished" not in lines
    time.sleep(1)  # the killed run writes nothing more
    report.refresh_from_db()
    assert messages(report) == lines
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE
    job = backend.fetch_job(report.job_id)
    assert compat.job_status(job) in ("stopped", "finished")
    # The worker lives on and runs the next task.
    assert worker.alive()
    again = task()
    backend.add(again)
    [done] = wait_for(lambda: finished_reports(again), 30, "a run after the stop", worker)
    assert done.invocation_result == LaunchReport.RESULT_OK


def test_redis_down_is_a_clear_error(rq_processes, task):
    port = free_port()
    t = task(scheduling=timezone.now() + timedelta(hours=1))
    config = {"BACKEND": "rq", "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{port}/0"}}
    with override_settings(EZTASKMANAGER=config):
        backend = get_backend()
        for start in (t, task()):  # the schedule path and the run-now path
            before = Task.objects.filter(pk=start.pk).values().get()
            with pytest.raises(TaskQueueException) as caught:
                backend.add(start)
            assert f"Redis at 127.0.0.1:{port}/0 cannot be reached" in str(caught.value)
            assert "Start redis-server" in str(caught.value)
            assert Task.objects.filter(pk=start.pk).values().get() == before


def test_concurrent_starts_leave_one_scheduled_job(backend, task):
    t = task(scheduling=timezone.now() + timedelta(hours=1))
    errors = []

    def start() -> None:
        try:
            backend.add(Task.objects.get(pk=t.pk))  # each its own, soon stale, copy
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    for _round in range(3):
        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    t.refresh_from_db()
    assert t.status == Task.STATUS_SCHEDULED
    assert scheduled_jobs_of(backend, t) == [t.scheduled_job_id]
    backend.remove(t)
    assert scheduled_jobs_of(backend, t) == []
