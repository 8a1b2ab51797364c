"""The beat scheduler against the database and a real Redis broker, with controlled clocks."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.models import Task
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_celery.beat import TaskScheduler, run_job_id
from eztaskmanager_celery.models import BeatEntry
from testsupport.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)

LIVE = "test_livelogging_command"
S = timedelta(seconds=1)


@pytest.fixture
def beat(app):
    """Start a beat scheduler (as ``celery beat -S`` does); call again to "restart" it."""
    made = []

    def start(celery_app=None):
        scheduler = TaskScheduler(app=celery_app or app)
        made.append(scheduler)
        return scheduler

    yield start
    for scheduler in made:
        scheduler.close()


def scheduled(task, **fields):
    t = task(LIVE, "--limit=1,--sleep=0", **fields)
    get_task_service().add(t)
    t.refresh_from_db()
    return t


def sent(queued):
    """The task ids and Celery ids of the runs published since the last call."""
    return [(m.body[0][0], m.headers["id"]) for m in queued("eztm-unit")]


def test_one_off_fires_once_also_across_a_restart(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    scheduler = beat()
    assert scheduler.tick_tasks(now=at - 2 * S) == pytest.approx(2, abs=0.01)
    assert sent(queued) == []
    scheduler.tick_tasks(now=at + 0.1 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]
    scheduler.tick_tasks(now=at + 0.2 * S)
    beat().tick_tasks(now=at + 0.3 * S)
    assert sent(queued) == []
    entry = BeatEntry.objects.get(task=t)
    assert (entry.last_due_at, entry.total_run_count) == (at, 1)
    # The run ends: a fired one-off has no next run, so the task goes back to idle.
    from eztaskmanager_celery.tasks import run_management_command

    run_management_command.apply(args=(t.pk,), task_id=run_job_id(t.pk, at))
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
    scheduler.tick_tasks(now=start + 60.2 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 60 * S))]
    # A restarted beat remembers what the last one fired.
    scheduler = beat()
    scheduler.tick_tasks(now=start + 61 * S)
    assert sent(queued) == []
    # The beat was down for four due times: one run catches up, then the rhythm resumes.
    wait = scheduler.tick_tasks(now=start + 300.5 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 120 * S))]
    assert wait <= scheduler.reload_every
    scheduler.tick_tasks(now=start + 301 * S)
    assert sent(queued) == []
    scheduler.tick_tasks(now=start + 360 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 360 * S))]
    assert BeatEntry.objects.get(task=t).total_run_count == 4


def test_a_due_time_while_running_is_skipped(beat, task, queued):
    start = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=start, repetition_period="minute", repetition_rate=1)
    scheduler = beat()
    Task.objects.filter(pk=t.pk).update(status=Task.STATUS_STARTED)
    scheduler.tick_tasks(now=start + S)
    assert sent(queued) == []
    Task.objects.filter(pk=t.pk).update(status=Task.STATUS_SCHEDULED)
    scheduler.reload()
    scheduler.tick_tasks(now=start + 2 * S)
    assert sent(queued) == []
    scheduler.tick_tasks(now=start + 60 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, start + 60 * S))]


def test_stop_between_reload_and_due_time_wins(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    scheduler = beat()
    scheduler.reload_every = 3600
    scheduler.tick_tasks(now=at - S)
    get_task_service().stop_task(t)
    scheduler.tick_tasks(now=at + S)
    assert sent(queued) == []
    assert t.pk not in scheduler.tasks


def test_changes_are_seen_at_the_next_reload(beat, task, queued):
    scheduler = beat()
    scheduler.reload_every = 0
    now = timezone.now()
    assert scheduler.tick_tasks(now=now) == 0
    at = now + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    scheduler.tick_tasks(now=at)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]
    # The period changed in the table (the admin's save): the beat follows it.
    t2 = scheduled(task, scheduling=at, repetition_period="hour", repetition_rate=1)
    scheduler.tick_tasks(now=at + S)
    assert sent(queued) == [(t2.pk, run_job_id(t2.pk, at))]
    Task.objects.filter(pk=t2.pk).update(repetition_period="minute", repetition_rate=2)
    scheduler.tick_tasks(now=at + 121 * S)
    assert sent(queued) == [(t2.pk, run_job_id(t2.pk, at + 120 * S))]


def test_two_beats_never_fire_the_same_due_time(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at, repetition_period="minute", repetition_rate=1)
    first, second = beat(), beat()
    first.reload()
    second.reload()
    first.tick_tasks(now=at + S)
    second.tick_tasks(now=at + 2 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]


def test_a_send_that_fails_is_retried(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at)
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0")
    failing = beat(dead)
    wait = failing.tick_tasks(now=at + S)
    assert 0 < wait <= failing.max_interval
    entry = BeatEntry.objects.get(task=t)
    assert (entry.total_run_count, entry.last_due_at) == (0, None)
    beat().tick_tasks(now=at + 2 * S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]


def test_task_scheduled_without_beat_entry_runs_from_its_next_ride(beat, task, queued):
    at = timezone.now() - timedelta(minutes=5)
    t = task(LIVE, scheduling=at)
    Task.objects.filter(pk=t.pk).update(
        status=Task.STATUS_SCHEDULED, scheduled_job_id=f"beat:{t.pk}", cached_next_ride=at
    )
    beat().tick_tasks()
    assert sent(queued) == [(t.pk, run_job_id(t.pk, at))]


def test_speedup_runs_the_same_rules_faster(beat, task, queued):
    start = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=start, repetition_period="minute", repetition_rate=2)
    with override_settings(
        EZTASKMANAGER={
            "BACKEND": "celery",
            "OPTIONS": {"queue": "eztm-unit", "schedule_speedup": 60},
        }
    ):
        scheduler = beat()
        assert get_task_service().next_run(t) == start
        for offset in (0, 1, 2, 2.5, 4, 4.1):
            scheduler.tick_tasks(now=start + offset * S)
        dues = [job for _pk, job in sent(queued)]
        assert dues == [run_job_id(t.pk, start + k * S) for k in (0, 2, 4)]


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
    t = scheduled(task, scheduling=timezone.now() + 0.3 * S)
    scheduler = beat()
    assert scheduler.tick() <= 0.3
    time.sleep(0.35)
    scheduler.tick()
    assert [pk for pk, _job in sent(queued)] == [t.pk]


def test_beat_needs_the_celery_backend(app):
    with (
        override_settings(EZTASKMANAGER={"BACKEND": "immediate"}),
        pytest.raises(ImproperlyConfigured, match='set it to "celery"'),
    ):
        TaskScheduler(app=app)
