"""Scheduling: one rq-scheduler job per task, at the time the task's fields say."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import AuditEvent, LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager_rq import compat
from eztaskmanager_rq.chain import RUN_SCHEDULED_TASK
from testsupport.clock import fast_schedules
from testsupport.net import free_port

from .helpers import fire, scheduled_ids, work


def whole_seconds(moment):
    return moment.replace(microsecond=0)


@pytest.fixture
def later():
    return timezone.now() + timedelta(hours=1)


def test_one_off_is_one_scheduled_job_at_its_time(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_SCHEDULED
    assert scheduled_ids(backend, t.pk) == [t.scheduled_job_id]
    assert compat.scheduled_time(backend.connection, t.scheduled_job_id) == whole_seconds(later)
    assert t.cached_next_ride == whole_seconds(later)
    job = backend.fetch_job(t.scheduled_job_id)
    assert job.func_name == RUN_SCHEDULED_TASK


def test_periodic_first_run_follows_the_core_rules(backend, task):
    start = timezone.now() - timedelta(minutes=7)
    t = task(scheduling=start, repetition_period="minute", repetition_rate=5)
    backend.add(t)
    t.refresh_from_db()
    expected = whole_seconds(start + timedelta(minutes=10))
    assert backend.next_run(t) == expected
    assert t.cached_next_ride == expected


def test_starting_twice_leaves_one_scheduled_job(backend, task, later):
    t = task(scheduling=later)
    stale = Task.objects.get(pk=t.pk)
    backend.add(t)
    first = t.scheduled_job_id
    backend.add(t)
    backend.add(stale)  # a copy loaded before the first start knows no job id
    t.refresh_from_db()
    assert scheduled_ids(backend, t.pk) == [t.scheduled_job_id]
    assert first != t.scheduled_job_id
    assert backend.fetch_job(first) is None


def test_remove_cancels_the_scheduled_job(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    job_id = t.scheduled_job_id
    backend.remove(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert (t.scheduled_job_id, t.cached_next_ride) == ("", None)
    assert scheduled_ids(backend, t.pk) == []
    assert backend.fetch_job(job_id) is None
    assert backend.next_run(t) is None


def test_remove_also_takes_a_fired_job_off_the_queue(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    fire(backend, t.scheduled_job_id)
    assert backend.queue.get_job_ids() == [t.scheduled_job_id]
    backend.remove(t)
    assert backend.queue.get_job_ids() == []


def test_fired_one_off_runs_once_and_leaves_the_task_idle(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    fire(backend, t.scheduled_job_id)
    work(backend)
    report = LaunchReport.objects.get(task=t)
    assert report.invocation_result == LaunchReport.RESULT_OK
    assert report.job_id == t.scheduled_job_id
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert (t.scheduled_job_id, t.cached_next_ride) == ("", None)
    assert scheduled_ids(backend, t.pk) == []


def test_fired_periodic_run_schedules_the_next_one_first(backend, task):
    start = timezone.now() + timedelta(minutes=1)
    t = task(scheduling=start, repetition_period="day", repetition_rate=1)
    backend.add(t)
    first = t.scheduled_job_id
    fire(backend, first)
    work(backend)
    t.refresh_from_db()
    assert LaunchReport.objects.get(task=t).job_id == first
    assert t.status == Task.STATUS_SCHEDULED
    assert t.scheduled_job_id != first
    assert scheduled_ids(backend, t.pk) == [t.scheduled_job_id]
    expected = whole_seconds(t.next_run_after(start))
    assert compat.scheduled_time(backend.connection, t.scheduled_job_id) == expected
    assert t.cached_next_ride == expected


def test_under_the_test_clock_the_chain_moves_on_in_seconds(backend, task):
    start = whole_seconds(timezone.now() + timedelta(seconds=30))
    t = task(scheduling=start, repetition_period="minute", repetition_rate=1)
    with fast_schedules(speed=30):  # a minute lasts 2 s
        backend.add(t)
        t.refresh_from_db()
        assert t.cached_next_ride == start
        fire(backend, t.scheduled_job_id)
        work(backend)
    t.refresh_from_db()
    # Fired early by the test: the next run is the first one after the planned time.
    assert t.cached_next_ride == start + timedelta(seconds=2)
    assert compat.scheduled_time(backend.connection, t.scheduled_job_id) == t.cached_next_ride
    assert scheduled_ids(backend, t.pk) == [t.scheduled_job_id]
    assert t.scheduled_job_id.startswith("eztm-")
    assert LaunchReport.objects.filter(task=t).count() == 1


def test_a_replaced_job_that_fires_is_dropped(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    old = t.scheduled_job_id
    # A job left behind (e.g. by a crash between scheduling and saving) fires.
    Task.objects.filter(pk=t.pk).update(scheduled_job_id="something-else")
    fire(backend, old)
    work(backend)
    assert not LaunchReport.objects.exists()


def test_deleting_a_task_cancels_its_scheduled_job(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    job_id = t.scheduled_job_id
    t.delete()
    assert scheduled_ids(backend, t.pk) == []
    assert backend.fetch_job(job_id) is None


def test_a_scheduled_job_of_a_deleted_task_does_nothing(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    job_id = t.scheduled_job_id
    # Deleted behind Django's back (raw SQL, with the audit rows that point at it): no
    # signal cancels the job.
    AuditEvent.objects.filter(task_id=t.pk)._raw_delete(AuditEvent.objects.db)
    Task.objects.filter(pk=t.pk)._raw_delete(Task.objects.db)
    fire(backend, job_id)
    work(backend)
    assert backend.fetch_job(job_id).return_value() is None
    assert not LaunchReport.objects.exists()


def test_redis_down_on_schedule_leaves_the_task_unchanged(settings, task, later):
    port = free_port()
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{port}/0"},
    }
    t = task(scheduling=later, status=Task.STATUS_SCHEDULED, scheduled_job_id="old-job")
    with pytest.raises(TaskQueueException, match="cannot be reached"):
        get_backend().add(t)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_SCHEDULED, "old-job")


def test_next_run_keeps_the_known_time_when_redis_blips(settings, task, later):
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{free_port()}/0"},
    }
    t = task(scheduling=later, scheduled_job_id="job", cached_next_ride=later)
    assert get_backend().next_run(t) == later


def test_the_task_lock_is_reentrant_in_one_thread_and_released(backend, task, later):
    t = task(scheduling=later)
    backend.add(t)
    started = time.monotonic()
    with backend.task_lock(t):
        backend.remove(t)  # takes the same lock: must not wait for itself
    assert time.monotonic() - started < 5
    assert not backend.connection.exists(f"eztaskmanager:lock:task:{t.pk}")


def test_scheduling_waits_for_the_task_lock_and_says_so_when_it_is_held(
    backend, task, later, monkeypatch
):
    monkeypatch.setattr("eztaskmanager_rq.connection.LOCK_WAIT_SECONDS", 0.2)
    t = task(scheduling=later)
    held = backend.connection.lock(f"eztaskmanager:lock:task:{t.pk}", timeout=30)
    assert held.acquire()  # another process scheduling or stopping the same task
    try:
        with pytest.raises(TaskQueueException, match="being started or stopped by someone else"):
            backend.add(t)
    finally:
        held.release()
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE and scheduled_ids(backend, t.pk) == []
    backend.add(t)  # once it is free
    t.refresh_from_db()
    assert scheduled_ids(backend, t.pk) == [t.scheduled_job_id]


def test_a_start_now_takes_no_task_lock(
    backend, task, monkeypatch, django_capture_on_commit_callbacks
):
    """The task's row lock refuses a second run; the Redis lock only guards schedules."""
    monkeypatch.setattr("eztaskmanager_rq.connection.LOCK_WAIT_SECONDS", 0.2)
    t = task()
    held = backend.connection.lock(f"eztaskmanager:lock:task:{t.pk}", timeout=30)
    assert held.acquire()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = backend.add(t)
        assert report.state == LaunchReport.STATE_QUEUED
        assert [job.id for job in backend.queue.get_jobs()] == [report.job_id]
        assert held.owned()  # nobody took or released it meanwhile
    finally:
        held.release()
