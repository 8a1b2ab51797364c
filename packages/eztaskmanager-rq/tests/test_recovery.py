"""Schedules that survive Redis: which ones Redis lost, booking them again, each due time once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.models import FiredDueTime, LaunchReport, Task
from eztaskmanager.services.recovery import resync
from eztaskmanager_rq import compat
from eztaskmanager_rq.occurrences import scheduled_at, whole_second
from testsupport.clock import fast_schedules

from .helpers import fire, scheduled_ids, work


def forget(backend, job_id: str) -> None:
    """What a Redis restarted without persistence does to a job: nothing of it is left."""
    backend.scheduler.cancel(job_id)
    backend.connection.delete(compat.Job.key_for(job_id))


@pytest.fixture
def scheduled(backend, task):
    """A task scheduled from its fields, ``later`` from now (or periodically)."""

    def make(later=timedelta(hours=1), **fields) -> Task:
        t = task(scheduling=timezone.now() + later, **fields)
        backend.add(t)
        t.refresh_from_db()
        return t

    return make


def test_lost_schedules_reads_redis_in_one_round_trip(backend, scheduled, monkeypatch):
    waiting = scheduled()
    moved = scheduled()
    fire(backend, moved.scheduled_job_id)  # in its queue now, waiting for a worker
    gone = scheduled()
    forget(backend, gone.scheduled_job_id)
    ended = scheduled()
    backend.connection.hset(compat.Job.key_for(ended.scheduled_job_id), "status", "failed")
    backend.scheduler.cancel(ended.scheduled_job_id)
    foreign = scheduled()
    foreign.scheduled_job_id = "beat:12"  # another engine's handle
    for command in ("zscore", "hget", "hgetall", "exists"):
        monkeypatch.setattr(backend.connection, command, None)  # one command each: not used
    lost = backend.lost_schedules([waiting, moved, gone, ended, foreign])
    assert lost == [gone, ended, foreign]


def test_nothing_to_ask_for_no_task(backend):
    assert backend.lost_schedules([]) == []


def test_a_lost_periodic_schedule_is_booked_at_its_next_due_time(backend, task):
    start = timezone.now() - timedelta(minutes=7)
    t = task(scheduling=start, repetition_period="minute", repetition_rate=5)
    backend.add(t)
    t.refresh_from_db()
    lost_job = t.scheduled_job_id
    forget(backend, lost_job)
    backend.rearm(t)
    t.refresh_from_db()
    expected = whole_second(start + timedelta(minutes=10))
    assert t.scheduled_job_id != lost_job
    assert (t.status, t.cached_next_ride) == (Task.STATUS_SCHEDULED, expected)
    assert scheduled_ids(backend, t.pk) == [t.scheduled_job_id]
    assert compat.scheduled_time(backend.connection, t.scheduled_job_id) == expected
    assert backend.lost_schedules([t]) == []


def test_under_the_test_clock_a_lost_schedule_keeps_its_cadence(backend, task):
    anchor = whole_second(timezone.now() - timedelta(seconds=25))
    t = task(scheduling=anchor, repetition_period="minute", repetition_rate=5)
    with fast_schedules(speed=60):  # five minutes last 5 s
        backend.add(t)
        t.refresh_from_db()
        forget(backend, t.scheduled_job_id)
        backend.rearm(t)
    t.refresh_from_db()
    assert t.cached_next_ride == anchor + timedelta(seconds=30)  # cadence kept, misses skipped
    job = backend.fetch_job(t.scheduled_job_id)
    assert scheduled_at(job.meta) == anchor + timedelta(seconds=30)


def test_a_lost_one_off_keeps_its_time(backend, scheduled):
    t = scheduled()
    due = t.cached_next_ride
    forget(backend, t.scheduled_job_id)
    backend.rearm(t)
    t.refresh_from_db()
    assert t.cached_next_ride == due
    assert compat.scheduled_time(backend.connection, t.scheduled_job_id) == due


def test_a_lost_one_off_whose_time_passed_unfired_is_booked_now(backend, scheduled):
    t = scheduled()
    due = whole_second(timezone.now() - timedelta(minutes=5))
    Task.objects.filter(pk=t.pk).update(scheduling=due)
    forget(backend, t.scheduled_job_id)
    t.refresh_from_db()
    # Booked for now, to the second: the second the re-arm began, or one after it.
    rearmed_from = whole_second(timezone.now())
    backend.rearm(t)
    t.refresh_from_db()
    job = backend.fetch_job(t.scheduled_job_id)
    assert scheduled_at(job.meta) == due  # its own due time, claimed when it runs
    assert compat.scheduled_time(backend.connection, job.id) >= rearmed_from
    fire(backend, job.id)
    work(backend)
    assert LaunchReport.objects.get(task=t).invocation_result == LaunchReport.RESULT_OK
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")


def test_a_lost_one_off_that_had_fired_ends(backend, scheduled):
    t = scheduled()
    due = whole_second(timezone.now() - timedelta(minutes=5))
    Task.objects.filter(pk=t.pk).update(scheduling=due)
    FiredDueTime.objects.create(task=t, due_at=due)
    forget(backend, t.scheduled_job_id)
    t.refresh_from_db()
    backend.rearm(t)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (Task.STATUS_IDLE, "", None)
    assert scheduled_ids(backend, t.pk) == []


def test_rearm_leaves_a_schedule_that_moved_on_meanwhile(backend, scheduled):
    t = scheduled()
    stale = Task.objects.get(pk=t.pk)
    backend.remove(t)
    backend.rearm(stale)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")
    assert scheduled_ids(backend, t.pk) == []


def test_the_cores_resync_books_lost_schedules_and_says_so(backend, scheduled):
    kept, lost = scheduled(), scheduled()
    forget(backend, lost.scheduled_job_id)
    done = resync(backend)
    assert len(done) == 1 and done[0].startswith(f"{lost}: schedule booked again")
    kept_before = kept.scheduled_job_id
    kept.refresh_from_db()
    assert kept.scheduled_job_id == kept_before
    assert resync(backend) == []  # idempotent


def test_each_due_time_runs_once_even_when_booked_twice(backend, scheduled):
    t = scheduled()
    first = t.scheduled_job_id
    due = t.cached_next_ride
    fire(backend, first)
    work(backend)
    assert LaunchReport.objects.filter(task=t).count() == 1
    # The same due time booked again (a resync that raced the run, say).
    again = "eztm-again"
    t.arm_schedule(again, due)
    backend.book(t, again, due)
    fire(backend, again)
    work(backend)
    assert LaunchReport.objects.filter(task=t).count() == 1
    assert backend.fetch_job(again).return_value() is None
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")  # the schedule ended
