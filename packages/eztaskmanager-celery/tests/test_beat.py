"""The beat scheduler against the database and a real Redis broker, with controlled clocks."""

import threading
import time
from datetime import timedelta

import pytest
from celery import Celery
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.models import FiredDueTime, LaunchReport, ProcessHeartbeat, Task
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_celery import beat as beat_module
from eztaskmanager_celery.beat import TaskScheduler
from eztaskmanager_celery.tasks import run_management_command
from eztaskmanager_celery.timetable import run_job_id
from testsupport.clock import fast_schedules
from testsupport.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = "test_livelogging_command"
S = timedelta(seconds=1)


def scheduled(task, **fields):
    t = task(LIVE, "--limit=1,--sleep=0", **fields)
    get_task_service().add(t)
    t.refresh_from_db()
    return t


def sent(queued):
    """The task ids and Celery ids of the runs published since the last call."""
    return [(m.body[0][0], m.headers["id"]) for m in queued("eztm-unit")]


def end_runs(task):
    """The worker's part, quickly: end the task's queued runs as if they ran."""
    for report in task.active_runs():
        report.finish(LaunchReport.RESULT_OK)


def test_one_off_fires_once_also_across_a_restart(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    scheduler = beat()
    assert scheduler.tick_tasks(now=at - 2 * S) == pytest.approx(2, abs=0.01)
    assert sent(queued) == []
    scheduler.tick_tasks(now=at + 0.1 * S)
    job_id = run_job_id(t.pk, at)
    assert sent(queued) == [(t.pk, job_id)]
    # The run is recorded before it is published (Stop can revoke it); the one-off is over.
    report = t.launchreport_set.get()
    t.refresh_from_db()
    assert (report.job_id, report.state) == (job_id, LaunchReport.STATE_QUEUED)
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (Task.STATUS_SPOOLED, "", None)
    scheduler.tick_tasks(now=at + 0.2 * S)
    beat().tick_tasks(now=at + 0.3 * S)
    assert sent(queued) == []
    assert FiredDueTime.objects.filter(task=t).count() == 1
    run_management_command.apply(args=(t.pk,), task_id=job_id)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (Task.STATUS_IDLE, "", None)
    assert t.launchreport_set.get().invocation_result == "ok"


def test_periodic_fires_each_due_time_once_and_catches_up_once(beat, task, queued):
    start = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=start, repetition_period="minute", repetition_rate=1)
    assert t.cached_next_ride == start
    scheduler = beat()
    for offset in (-1, 0.5, 1, 59):
        scheduler.tick_tasks(now=start + offset * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start))]
    # The admin's next run is the beat's next due time.
    t.refresh_from_db()
    assert (t.status, t.cached_next_ride) == (Task.STATUS_SPOOLED, start + 60 * S)
    end_runs(t)
    scheduler.tick_tasks(now=start + 60.2 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 60 * S))]
    end_runs(t)
    # A restarted beat knows what the last one fired.
    scheduler = beat()
    scheduler.tick_tasks(now=start + 61 * S)
    assert sent(queued) == []
    # The beat was down for four due times: one run catches up, then the rhythm resumes.
    wait = scheduler.tick_tasks(now=start + 300.5 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 120 * S))]
    assert wait <= scheduler.look_every
    end_runs(t)
    scheduler.tick_tasks(now=start + 301 * S)
    assert sent(queued) == []
    scheduler.tick_tasks(now=start + 360 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 360 * S))]
    assert t.launchreport_set.count() == 4
    t.refresh_from_db()
    assert (t.scheduled_job_id, t.cached_next_ride) == (f"beat:{t.pk}", start + 420 * S)


def test_a_due_time_while_running_is_skipped_and_said_so(beat, task, queued):
    start = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=start, repetition_period="minute", repetition_rate=1)
    scheduler = beat()
    scheduler.tick_tasks(now=start + S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start))]
    scheduler.tick_tasks(now=start + 61 * S)
    assert sent(queued) == []
    (running,) = t.active_runs()
    assert "A scheduled run due at " in running.get_log_lines()[-1]
    assert running.get_log_lines()[-1].endswith("was skipped: this run was still going on.")
    t.refresh_from_db()
    assert t.cached_next_ride == start + 120 * S
    end_runs(t)
    scheduler.tick_tasks(now=start + 120 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 120 * S))]


def test_stop_between_two_ticks_wins(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    scheduler = beat()
    assert scheduler.tick_tasks(now=at - S) == pytest.approx(1, abs=0.01)
    get_task_service().stop_task(t)
    assert scheduler.tick_tasks(now=at + S) == scheduler.look_every
    assert sent(queued) == []
    assert t.launchreport_set.count() == 0


def test_a_stop_after_the_beat_read_the_task_means_no_run(beat, task, queued, monkeypatch):
    """Stop lands after the beat's tick read the task as due and before it fires it: the
    firing reads the task again under its lock, finds the schedule gone, and runs nothing."""
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at, repetition_period="hour", repetition_rate=1)
    upcoming_tasks = beat_module.upcoming_tasks

    def read_then_stop(limit, until):
        tasks = upcoming_tasks(limit, until)
        get_task_service().stop_task(Task.objects.get(pk=t.pk), by="tester")
        return tasks

    monkeypatch.setattr(beat_module, "upcoming_tasks", read_then_stop)
    scheduler = beat()
    scheduler.tick_tasks(now=at)
    assert sent(queued) == []
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.launchreport_set.count()) == (Task.STATUS_IDLE, "", 0)
    assert not FiredDueTime.objects.filter(task=t).exists()


def test_stop_on_a_run_the_beat_queued_revokes_it(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at, repetition_period="hour", repetition_rate=1)
    beat().tick_tasks(now=at)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]
    outcome = get_task_service().stop_task(Task.objects.get(pk=t.pk), by="tester")
    assert (outcome.stopped, outcome.unscheduled) == (1, True)
    report = t.launchreport_set.get()
    assert (report.invocation_result, report.reason) == (
        LaunchReport.RESULT_STOPPED,
        "Stopped by tester before it started.",
    )
    assert run_management_command.apply(args=(t.pk,), task_id=report.job_id).get() is None


def test_changes_made_in_the_admin_are_seen_at_the_next_tick(beat, task, queued):
    scheduler = beat()
    now = timezone.now()
    assert scheduler.tick_tasks(now=now) == scheduler.look_every
    at = now + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    scheduler.tick_tasks(now=at)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]
    t2 = scheduled(task, scheduling=at, repetition_period="hour", repetition_rate=1)
    scheduler.tick_tasks(now=at + S)
    assert sent(queued) == [(t2.pk, run_job_id(t2.pk, at))]
    end_runs(t2)
    # The schedule changed in the admin, whose save schedules the task again.
    later = at + 600 * S
    Task.objects.filter(pk=t2.pk).update(
        scheduling=later, repetition_period="minute", repetition_rate=2
    )
    t2.refresh_from_db()
    get_task_service().add(t2)
    scheduler.tick_tasks(now=later)
    assert sent(queued) == [(t2.pk, run_job_id(t2.pk, later))]
    end_runs(t2)
    scheduler.tick_tasks(now=later + 120 * S)
    assert sent(queued) == [(t2.pk, run_job_id(t2.pk, later + 120 * S))]


def test_two_beats_never_fire_the_same_due_time(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at, repetition_period="minute", repetition_rate=1)
    first, second = beat(), beat()
    first.tick_tasks(now=at + S)
    second.tick_tasks(now=at + 2 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]


def test_two_beats_racing_in_threads_fire_each_due_time_once(beat, task, queued):
    """The bug this replaces: two beats both won a subquery compare-and-set under READ
    COMMITTED. Here both read every task, then fire them all at the same instant."""
    at = timezone.now() + timedelta(hours=1)
    tasks = [scheduled(task, scheduling=at, name=f"race {n}") for n in range(12)]
    beats = [beat(), beat()]
    start = threading.Barrier(len(beats))
    errors = []

    def fire_all(scheduler):
        try:
            start.wait(10)
            for t in tasks:
                scheduler.fire(t.pk, at + S)
        except Exception as exc:  # shown by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fire_all, args=(s,)) for s in beats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    published = sent(queued)
    assert sorted(published) == sorted((t.pk, run_job_id(t.pk, at)) for t in tasks)
    assert LaunchReport.objects.filter(task__in=tasks).count() == len(tasks)
    assert FiredDueTime.objects.filter(task__in=tasks).count() == len(tasks)


def test_a_send_that_fails_is_given_back_and_retried(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0")
    failing = beat(dead)
    wait = failing.tick_tasks(now=at + S)
    assert 0 < wait <= failing.max_interval
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (
        Task.STATUS_SCHEDULED,
        f"beat:{t.pk}",
        at,
    )
    assert (t.launchreport_set.count(), FiredDueTime.objects.filter(task=t).count()) == (0, 0)
    beat().tick_tasks(now=at + 2 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]


def test_task_scheduled_without_next_ride_runs_from_its_fields(beat, task, queued):
    at = timezone.now() - timedelta(minutes=5)
    t = task(LIVE, scheduling=at)
    Task.objects.filter(pk=t.pk).update(
        status=Task.STATUS_SCHEDULED, scheduled_job_id=f"beat:{t.pk}", cached_next_ride=None
    )
    beat().tick_tasks()
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]


def test_a_due_time_fired_long_ago_is_passed_over(beat, task, queued):
    """A schedule armed again on a due time that fired (a clock gone back) must not wait
    for ever: once the old claim is clearly not a beat at work, the beat moves on."""
    start = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=start, repetition_period="minute", repetition_rate=1)
    FiredDueTime.objects.create(task=t, due_at=start, fired_at=timezone.now() - 120 * S)
    scheduler = beat()
    scheduler.tick_tasks(now=start + S)
    assert sent(queued) == []
    t.refresh_from_db()
    assert t.cached_next_ride == start + 60 * S
    scheduler.tick_tasks(now=start + 60 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 60 * S))]


def test_under_the_test_clock_the_beat_runs_the_same_rules_faster(beat, task, queued):
    start = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=start, repetition_period="minute", repetition_rate=2)
    with fast_schedules(speed=60):  # two minutes last 2 s
        scheduler = beat()
        assert get_task_service().next_run(t) == start
        for offset in (0, 1, 2, 2.5, 4, 4.1):
            scheduler.tick_tasks(now=start + offset * S)
            end_runs(t)
    dues = [job for _pk, job in sent(queued)]
    assert dues == [run_job_id(t.pk, start + k * S) for k in (0, 2, 4)]


def test_the_beat_keeps_watch_heartbeat_and_lost_runs(beat, task):
    t = task(LIVE)
    report = t.queue_run("job-of-a-dead-worker")
    LaunchReport.objects.start_run(t.pk, "job-of-a-dead-worker", worker="gone", pid=None)
    LaunchReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    scheduler = beat()
    scheduler.keep_watch()
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason.startswith("Worker lost: no heartbeat for ")
    row = ProcessHeartbeat.objects.get(backend="celery", kind=ProcessHeartbeat.KIND_SCHEDULER)
    assert row.name == scheduler.name and row.name.startswith("beat@")


def test_the_apps_own_beat_schedule_still_runs(app, beat, queued):
    app.conf.beat_schedule = {"ping": {"task": "tests.ping", "schedule": 0.2}}
    try:
        scheduler = beat()
        assert "ping" in scheduler.schedule
        deadline = time.monotonic() + 3
        while not (messages := queued("eztm-unit-default")) and time.monotonic() < deadline:
            time.sleep(min(max(scheduler.tick(), 0), 0.1))
    finally:
        app.conf.beat_schedule = {}
    (message,) = messages
    assert message.headers["task"] == "tests.ping"


def test_tick_with_the_real_clock(beat, task, queued):
    at = timezone.now() + 3 * S
    t = scheduled(task, scheduling=at)
    scheduler = beat()
    # It sleeps until the due time (3 s is plenty for the set-up, even on a busy machine).
    assert 0 < scheduler.tick() <= 3
    assert sent(queued) == []
    time.sleep(max((at - timezone.now()).total_seconds(), 0) + 0.05)
    scheduler.tick()
    assert [pk for pk, _job in sent(queued)] == [t.pk]


def test_beat_needs_the_celery_backend(app):
    with (
        override_settings(EZTASKMANAGER={"BACKEND": "immediate"}),
        pytest.raises(ImproperlyConfigured, match='set it to "celery"'),
    ):
        TaskScheduler(app=app)
