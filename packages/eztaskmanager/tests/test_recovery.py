"""Recovery: runs whose process is gone are ended, schedules the engine lost are booked again."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eztaskmanager.models import LaunchReport, ProcessHeartbeat, Task
from eztaskmanager.notifiers import locmem
from eztaskmanager.processes import host_key, process_is_alive, process_is_gone
from eztaskmanager.services.lookout import Lookout
from eztaskmanager.services.queues import JobInfo, JobState, ScheduleHandle
from eztaskmanager.services.recovery import reap, resync
from testsupport.sessions import end_session_of

from .backends import RecordingBackend

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def report_of(task, seconds_silent, **fields):
    beat = timezone.now() - timedelta(seconds=seconds_silent)
    fields.setdefault("heartbeat_at", beat)
    return LaunchReport.objects.create(task=task, invocation_datetime=beat, **fields)


def a_dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_without_heartbeat_for_too_long_is_lost_and_notified(task, settings):
    settings.EZTASKMANAGER = {
        "BACKEND": "immediate",
        "HEARTBEAT_TIMEOUT": 60,
        "NOTIFIERS": {"ops": {"BACKEND": "locmem", "LEVEL": "failed"}},
    }
    locmem.outbox.clear()
    t = task(LIVE)
    lost = report_of(t, 75, worker="w1 (pid 4)")
    alive = report_of(task(LIVE), 30)
    (line,) = reap(RecordingBackend())
    assert line.endswith("Worker lost: no heartbeat for 75 s (w1 (pid 4)).")
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert (lost.state, lost.invocation_result) == ("finished", "failed")
    assert alive.state == "running"
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE
    assert [n.result for n in locmem.outbox] == ["failed"]
    assert reap(RecordingBackend()) == []  # idempotent


def test_the_bound_is_a_setting(task, settings):
    settings.EZTASKMANAGER = {"BACKEND": "immediate", "HEARTBEAT_TIMEOUT": 20}
    report_of(task(LIVE), 25)
    assert len(reap(RecordingBackend())) == 1


def test_a_process_gone_from_this_host_is_noticed_at_once(task):
    dead = a_dead_pid()
    assert process_is_gone(host_key(), dead)
    assert not process_is_gone(host_key(), os.getpid())
    assert not process_is_gone("another-host/boot/1", dead)  # another host cannot tell
    gone = report_of(task(LIVE), 0, pid=dead, host_key=host_key(), worker="w2 (pid 9)")
    elsewhere = report_of(task(LIVE), 5, pid=dead, host_key="another-host/boot/1")
    alive = report_of(task(LIVE), 5, pid=os.getpid(), host_key=host_key())
    (line,) = reap(RecordingBackend())
    assert line.endswith("Worker lost: its process w2 (pid 9) is gone.")
    states = {
        r.pk: r.state for r in LaunchReport.objects.filter(pk__in=[gone.pk, elsewhere.pk, alive.pk])
    }
    assert states == {
        gone.pk: "finished",
        elsewhere.pk: "running",
        alive.pk: "running",
    }


def test_a_zombie_is_gone_and_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Ended, its exit status not collected yet: a zombie.
        deadline = time.monotonic() + 30
        while not process_is_gone(host_key(), child.pid):
            assert time.monotonic() < deadline, "the child never ended"
        assert not process_is_alive(host_key(), child.pid)
    finally:
        child.wait()
    assert process_is_gone(host_key(), child.pid)
    assert not process_is_alive(host_key(), child.pid)
    assert process_is_alive(host_key(), os.getpid())
    assert not process_is_alive("another-host/boot/1", os.getpid())  # cannot tell
    assert not process_is_alive(host_key(), None)


def test_a_gone_process_whose_parent_lives_is_left_to_it_for_a_moment(task):
    """The worker that forked a killed process knows its exit status: it ends the run
    with its cause, where a lookout would only say the process is gone."""
    here = {"pid": a_dead_pid(), "host_key": host_key(), "worker": "w (pid 8)"}
    just_now = report_of(task(LIVE), 0, parent_pid=os.getpid(), **here)
    orphan = report_of(task(LIVE), 0, parent_pid=a_dead_pid(), **here)
    older = report_of(task(LIVE), 0, parent_pid=None, **here)  # recorded without it
    silent = report_of(task(LIVE), 4, parent_pid=os.getpid(), **here)
    stopping = report_of(task(LIVE), 0, parent_pid=os.getpid(), state="stopping", **here)
    lines = reap(RecordingBackend())
    assert len(lines) == 4
    ended = dict(LaunchReport.objects.filter(state="finished").values_list("pk", "reason"))
    assert ended == {
        orphan.pk: "Worker lost: its process w (pid 8) is gone.",
        older.pk: "Worker lost: its process w (pid 8) is gone.",
        silent.pk: "Worker lost: its process w (pid 8) is gone.",
        stopping.pk: "Stopped: its process w (pid 8) is gone.",
    }
    assert LaunchReport.objects.get(pk=just_now.pk).state == "running"


def test_what_the_engine_says_of_the_job_counts(task):
    ended = report_of(task(LIVE), 5, job_id="j-ended")
    missing = report_of(task(LIVE), 5, job_id="j-missing")
    running = report_of(task(LIVE), 5, job_id="j-running")
    backend = RecordingBackend(
        jobs={
            "j-ended": JobInfo(JobState.ENDED, "failed: work-horse killed (signal 9)"),
            "j-missing": JobInfo(JobState.MISSING),
            "j-running": JobInfo(JobState.RUNNING),
        }
    )
    assert len(reap(backend)) == 2
    ended.refresh_from_db()
    missing.refresh_from_db()
    running.refresh_from_db()
    assert (
        ended.reason == "Worker lost: the queue says its job failed: work-horse killed (signal 9)."
    )
    assert missing.reason == "Worker lost: the queue says its job missing."
    assert running.state == "running"


def test_an_engine_that_cannot_answer_tells_nothing(task):
    class Down(RecordingBackend):
        def job_state(self, job_id):
            raise ConnectionError("Redis is down")

    report = report_of(task(LIVE), 5, job_id="j1")
    assert reap(Down()) == []
    report.refresh_from_db()
    assert report.state == "running"


def test_queued_runs_the_engine_lost_or_failed_end(task):
    t1, t2, t3 = task(LIVE), task(LIVE), task(LIVE)
    failed_early = t1.queue_run("j-failed")
    lost_long_ago = t2.queue_run("j-lost")
    LaunchReport.objects.filter(pk=lost_long_ago.pk).update(
        queued_at=timezone.now() - timedelta(minutes=5)
    )
    lost_just_now = t3.queue_run("j-lost-now")
    backend = RecordingBackend(
        jobs={
            "j-failed": JobInfo(JobState.ENDED, "failed: OverflowError"),
            "j-lost": JobInfo(JobState.MISSING),
            "j-lost-now": JobInfo(JobState.MISSING),
        }
    )
    assert len(reap(backend)) == 2
    for report in (failed_early, lost_long_ago, lost_just_now):
        report.refresh_from_db()
    assert (
        failed_early.reason
        == "Not run: its job ended before the run started (failed: OverflowError)."
    )
    assert lost_long_ago.reason == "Not run: the queue lost its job before it started."
    assert lost_just_now.state == "queued"  # it may be on its way to the queue
    assert Task.objects.get(pk=t1.pk).status == Task.STATUS_IDLE


def test_resync_books_lost_schedules_again_and_sets_drifted_statuses_right(task):
    backend = RecordingBackend(lost={"sched-1"})
    start = timezone.now() + timedelta(minutes=10)
    periodic = task(LIVE, scheduling=start, repetition_period="hour", repetition_rate=1)
    backend.add(periodic)
    periodic.refresh_from_db()
    assert periodic.scheduled_job_id == "sched-1"
    drifted = task(LIVE)
    Task.objects.filter(pk=drifted.pk).update(status=Task.STATUS_STARTED)  # e.g. an old database
    done = resync(backend)
    assert f"{drifted}: status started -> idle" in done
    assert any(line.startswith(f"{periodic}: schedule booked again, next run") for line in done)
    periodic.refresh_from_db()
    assert (periodic.status, periodic.scheduled_job_id) == ("scheduled", "sched-2")
    assert resync(RecordingBackend()) == []


def test_resync_asks_the_engine_about_handles_read_as_rows_in_one_query(task):
    """Thousands of scheduled tasks are read as plain rows: model instances cost several
    times what the engine's answer does."""
    backend = RecordingBackend()
    start = timezone.now() + timedelta(minutes=10)
    asked: list = []
    backend.lost_schedules = lambda tasks: asked.extend(tasks) or []

    def arm(n: int) -> list[Task]:
        armed = [task(LIVE, scheduling=start, repetition_period="hour") for _ in range(n)]
        for one in armed:
            backend.add(one)
            one.refresh_from_db()
        return armed

    queries = []
    for n in (2, 20):
        armed = arm(n)
        asked.clear()
        with CaptureQueriesContext(connections["default"]) as captured:
            resync(backend)
        queries.append(len(captured))
        assert all(type(handle) is ScheduleHandle for handle in asked)
        assert {(t.pk, t.scheduled_job_id) for t in armed} <= set(asked)
    assert queries[0] == queries[1]


def test_the_management_command_prints_what_it_fixed(task):
    out = StringIO()
    call_command("eztaskmanager_resync", stdout=out)
    assert out.getvalue().startswith("Nothing to fix")
    report_of(task(LIVE), 3600, worker="w3 (pid 5)")
    out = StringIO()
    call_command("eztaskmanager_resync", "--runs-only", stdout=out)
    assert "Worker lost: no heartbeat for 3600 s (w3 (pid 5))." in out.getvalue()


def test_a_run_asked_to_stop_whose_process_is_gone_ends_stopped(task):
    report = report_of(
        task(LIVE), 0, state="stopping", pid=a_dead_pid(), host_key=host_key(), worker="w (pid 3)"
    )
    (line,) = reap(RecordingBackend())
    report.refresh_from_db()
    assert (report.invocation_result, report.reason) == (
        "stopped",
        "Stopped: its process w (pid 3) is gone.",
    )
    assert line.endswith(report.reason)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("connections_kept", "max_age", "still_open"),
    [("request", 60, True), ("request", 0, False), ("close", 60, False)],
)
def test_a_lookout_keeps_its_connection_as_told(
    settings, monkeypatch, connections_kept, max_age, still_open
):
    """A scheduler's keeps it as CONN_MAX_AGE says (no fork follows); a worker's is closed."""
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    conn = connections["default"]
    monkeypatch.setitem(conn.settings_dict, "CONN_MAX_AGE", max_age)
    conn.close()  # the next one opens with this CONN_MAX_AGE
    lookout = Lookout(
        "unit", ProcessHeartbeat.KIND_SCHEDULER, "s1", beat_every=0, connections=connections_kept
    )
    lookout.tick(force=True)
    assert ProcessHeartbeat.objects.filter(backend="unit", name="s1").exists()
    lookout.tick(force=True)
    assert (conn.connection is not None) is still_open
    conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_schedulers_lookout_connects_again_after_the_server_dropped_its_connection(
    settings, monkeypatch, caplog
):
    """A connection kept between ticks (CONN_MAX_AGE) that the server ended (a restart, an
    idle timeout) costs one failed heartbeat: it is dropped, and the next one is written."""
    conn = connections["default"]
    if conn.vendor != "postgresql":
        pytest.skip("ends a PostgreSQL server connection (pg_terminate_backend)")
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    monkeypatch.setitem(conn.settings_dict, "CONN_MAX_AGE", 60)
    conn.close()
    lookout = Lookout(
        "unit", ProcessHeartbeat.KIND_SCHEDULER, "s1", beat_every=0, connections="request"
    )
    lookout.tick(force=True)
    first = ProcessHeartbeat.objects.get(backend="unit", name="s1").seen_at
    end_session_of(conn)
    lookout.tick(force=True)  # on the dead connection: logged, and the connection dropped
    assert "Could not record the heartbeat" in caplog.text
    lookout.tick(force=True)
    assert ProcessHeartbeat.objects.get(backend="unit", name="s1").seen_at > first
    conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_lookout_beats_and_recovers_each_at_most_so_often(task, settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    lookout = Lookout(
        "unit", ProcessHeartbeat.KIND_SCHEDULER, "s1", beat_every=3600, reap_every=3600
    )
    lost = report_of(task(LIVE), 3600)
    lookout.tick()
    row = ProcessHeartbeat.objects.get(backend="unit", name="s1")
    lost.refresh_from_db()
    assert lost.state == "finished"
    again = report_of(task(LIVE), 3600)
    lookout.tick()  # neither is due again for an hour
    again.refresh_from_db()
    assert again.state == "running"
    assert ProcessHeartbeat.objects.get(pk=row.pk).seen_at == row.seen_at
    lookout.tick(force=True)
    again.refresh_from_db()
    assert again.state == "finished"
    assert ProcessHeartbeat.objects.get(pk=row.pk).seen_at > row.seen_at
