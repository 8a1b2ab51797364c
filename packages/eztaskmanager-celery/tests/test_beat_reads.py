"""What the beat reads on a tick: the tasks due and the next ones by the index, never all."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eztaskmanager.models import Task
from eztaskmanager_celery import beat as beat_module
from eztaskmanager_celery.timetable import run_job_id

from .test_beat import LIVE, S, end_runs, scheduled, sent

pytestmark = pytest.mark.django_db(transaction=True)


def queries_of_a_tick(scheduler, now):
    with CaptureQueriesContext(connection) as captured:
        scheduler.tick_tasks(now=now)
    return len(captured)


def test_an_idle_tick_reads_the_same_whatever_the_number_of_tasks(beat, task, queued):
    now = timezone.now()
    for n in range(3):
        scheduled(task, scheduling=now + timedelta(hours=1, minutes=n), name=f"few {n}")
    scheduler = beat()
    scheduler.tick_tasks(now=now)  # the first tick also looks for tasks without a next run
    few = queries_of_a_tick(scheduler, now)
    for n in range(30):
        scheduled(task, scheduling=now + timedelta(hours=2, minutes=n), name=f"many {n}")
    assert queries_of_a_tick(scheduler, now) == few == 1
    assert sent(queued) == []


def test_a_schedule_edited_and_saved_is_fired_at_the_next_tick_by_its_new_time(beat, task, queued):
    now = timezone.now()
    hourly = {"repetition_period": "hour", "repetition_rate": 1}
    t = scheduled(task, scheduling=now + timedelta(hours=1), **hourly)
    scheduler = beat()
    assert scheduler.tick_tasks(now=now) == scheduler.look_every
    # An edit as the admin saves it: the core books the schedule again from the new fields.
    sooner = now + timedelta(minutes=10)
    t.scheduling = sooner
    t.save()
    t.refresh_from_db()
    assert t.cached_next_ride == sooner
    assert scheduler.tick_tasks(now=sooner - S) == pytest.approx(1, abs=0.01)
    scheduler.tick_tasks(now=sooner + S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, sooner))]
    end_runs(t)
    # The old due time is gone: the next run is an hour after the new one.
    scheduler.tick_tasks(now=now + timedelta(hours=1, seconds=1))
    assert sent(queued) == []
    t.refresh_from_db()
    assert t.cached_next_ride == sooner + timedelta(hours=1)


def test_a_task_whose_command_is_deactivated_stops_firing(beat, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = scheduled(task, scheduling=at, repetition_period="minute", repetition_rate=1)
    scheduler = beat()
    scheduler.tick_tasks(now=at - S)
    t.command.active = False
    t.command.save()
    scheduler.tick_tasks(now=at + S)
    assert sent(queued) == []
    t.refresh_from_db()
    assert (t.scheduled_job_id, t.cached_next_ride) == ("", None)


def test_a_periodic_task_without_a_next_run_gets_one_and_fires_then(beat, task, queued):
    start = timezone.now() - timedelta(minutes=30)
    t = task(LIVE, scheduling=start, repetition_period="hour", repetition_rate=1)
    Task.objects.filter(pk=t.pk).update(
        status=Task.STATUS_SCHEDULED, scheduled_job_id=f"beat:{t.pk}", cached_next_ride=None
    )
    scheduler = beat()
    now = timezone.now()
    due = start + timedelta(hours=1)
    assert scheduler.tick_tasks(now=now) == scheduler.look_every
    t.refresh_from_db()
    assert (t.status, t.cached_next_ride) == (Task.STATUS_SCHEDULED, due)
    scheduler.tick_tasks(now=due + S)
    assert sent(queued) == [(t.pk, run_job_id(t.pk, due))]


def test_more_due_than_a_tick_reads_are_fired_at_once_after(beat, task, queued, monkeypatch):
    monkeypatch.setattr(beat_module, "BATCH", 2)
    at = timezone.now() + timedelta(hours=1)
    tasks = [scheduled(task, scheduling=at, name=f"due {n}") for n in range(3)]
    scheduler = beat()
    assert scheduler.tick_tasks(now=at + S) == 0
    assert len(sent(queued)) == 2
    scheduler.tick_tasks(now=at + S)
    assert sent(queued) == [(tasks[2].pk, run_job_id(tasks[2].pk, at))]
