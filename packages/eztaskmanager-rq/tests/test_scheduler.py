"""The scheduler class: rq-scheduler's tick, plus recovery while it holds the lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.models import LaunchReport, ProcessHeartbeat
from eztaskmanager_rq import compat
from eztaskmanager_rq.scheduler import Scheduler

from .helpers import scheduled_ids

pytestmark = pytest.mark.usefixtures("keep_signal_handlers")


@pytest.fixture
def scheduler(backend):
    return Scheduler(queue_name=backend.queue_name, connection=backend.connection, interval=1)


@pytest.fixture
def lost(backend, task):
    """A task scheduled in an hour whose job Redis lost, and a run whose worker is gone."""
    t = task(scheduling=timezone.now() + timedelta(hours=1))
    backend.add(t)
    t.refresh_from_db()
    backend.scheduler.cancel(t.scheduled_job_id)
    backend.connection.delete(compat.Job.key_for(t.scheduled_job_id))
    other = task()
    report = LaunchReport.objects.start_run(other.pk, "gone-job", worker="w (pid 1)", pid=1)
    LaunchReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    return t, report


def test_a_tick_ends_lost_runs_and_books_lost_schedules(backend, scheduler, lost):
    task, report = lost
    scheduler.run(burst=True)
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason.startswith("Worker lost: no heartbeat")
    task.refresh_from_db()
    assert scheduled_ids(backend, task.pk) == [task.scheduled_job_id]
    beat = ProcessHeartbeat.objects.get(kind="scheduler", name=scheduler.name)
    assert beat.backend == "rq"


def test_its_heartbeat_alone_recovers_nothing(backend, scheduler, lost):
    """Recovery happens in enqueue_jobs(), which rq-scheduler calls only under its lock."""
    task, report = lost
    scheduler.heartbeat()
    report.refresh_from_db()
    assert report.is_active
    assert backend.lost_schedules([task]) == [task]
    assert ProcessHeartbeat.objects.filter(kind="scheduler", name=scheduler.name).exists()


def test_schedules_are_looked_at_every_resync_interval_runs_every_tick(backend, scheduler, lost):
    task, _report = lost
    scheduler.enqueue_jobs()  # the first tick: both
    task.refresh_from_db()
    booked = task.scheduled_job_id
    backend.scheduler.cancel(booked)
    backend.connection.delete(compat.Job.key_for(booked))
    scheduler.enqueue_jobs()  # within the interval: runs only
    task.refresh_from_db()
    assert task.scheduled_job_id == booked
    assert backend.lost_schedules([task]) == [task]


def test_a_redis_that_lost_its_data_is_resynced_at_once(backend, scheduler, lost):
    """Restarted empty quickly, Redis is reconnected to silently: the scheduler's own key tells."""
    task, _report = lost
    scheduler.register_birth()
    scheduler.enqueue_jobs()  # the first tick: the resync gate is closed for 30 s now
    task.refresh_from_db()
    backend.scheduler.cancel(task.scheduled_job_id)
    backend.connection.delete(compat.Job.key_for(task.scheduled_job_id), scheduler.key)
    scheduler.heartbeat()
    scheduler.enqueue_jobs()
    task.refresh_from_db()
    assert backend.lost_schedules([task]) == []
    assert backend.connection.exists(scheduler.key)


def test_it_sleeps_until_the_next_job_is_due_not_the_whole_interval(backend, task):
    """rq-scheduler alone sleeps its interval (60 s by default with django-rq): a job due
    meanwhile would wait for the end of it."""
    scheduler = Scheduler(queue_name=backend.queue_name, connection=backend.connection, interval=60)
    t = task(scheduling=timezone.now() + timedelta(seconds=20))
    backend.add(t)
    t.refresh_from_db()
    scheduler.enqueue_jobs()
    # The soonest job in the set: this one, or one that other tests left sooner.
    (_job, soonest), *_rest = backend.connection.zrange(
        compat.SCHEDULED_JOBS_KEY, 0, 0, withscores=True
    )
    assert soonest <= compat.scheduled_time(backend.connection, t.scheduled_job_id).timestamp()
    assert scheduler._interval == pytest.approx(soonest - scheduler.tick_started_at)
    assert 0 < scheduler._interval <= 20
    scheduler.heartbeat()
    assert backend.connection.ttl(scheduler.key) >= 10


def test_it_is_django_rqs_scheduler():
    from django_rq.queues import DjangoScheduler

    assert issubclass(Scheduler, DjangoScheduler)
