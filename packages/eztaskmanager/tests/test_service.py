"""The base backend's policies: what may start, what Stop does, how engine errors surface."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotRunnable, TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager.services import queues
from eztaskmanager.services.queues import JobInfo, JobState

from .backends import RecordingBackend

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


@pytest.fixture(autouse=True)
def quick_stop_wait(monkeypatch):
    monkeypatch.setattr(queues, "COOPERATIVE_STOP_SECONDS", 0.2)
    monkeypatch.setattr(queues, "STOP_WAIT_SECONDS", 0.2)


def running(task, seconds_since_heartbeat=0, **fields):
    beat = timezone.now() - timedelta(seconds=seconds_since_heartbeat)
    report = LaunchReport.objects.create(
        task=task, heartbeat_at=beat, invocation_datetime=beat, **fields
    )
    with_status(task)
    return report


def with_status(task):
    with transaction.atomic():
        Task.locked(task.pk).sync_status()
    task.refresh_from_db()


def test_add_schedules_and_never_keeps_two_jobs(task):
    backend = RecordingBackend()
    start = timezone.now() + timedelta(minutes=10)
    t = task(LIVE, scheduling=start, repetition_period="hour", repetition_rate=1)
    backend.add(t)
    backend.add(t)
    t.refresh_from_db()
    assert backend.calls == [
        ("schedule", "sched-1"),
        ("unschedule", "sched-1"),
        ("schedule", "sched-2"),
    ]
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == ("scheduled", "sched-2", start)
    backend.remove(t)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == ("idle", "", None)


def test_start_now_queues_one_run_and_refuses_a_second(task):
    backend = RecordingBackend()
    t = task(LIVE)
    report = backend.add(t)
    assert backend.calls == [("enqueue", t.pk, report.job_id)]
    assert (report.state, report.queued_at is not None, len(report.job_id)) == ("queued", True, 32)
    t.refresh_from_db()
    assert t.status == Task.STATUS_SPOOLED
    with pytest.raises(TaskAlreadyRunning, match="is already queued"):
        backend.add(Task.objects.get(pk=t.pk))
    assert t.launchreport_set.count() == 1


def test_a_schedule_the_engine_cannot_book_is_not_armed(task):
    class Down(RecordingBackend):
        def schedule(self, task):
            raise ConnectionError("Connection refused on 127.0.0.1:1")

    t = task(LIVE, scheduling=timezone.now() + timedelta(minutes=10))
    with pytest.raises(TaskQueueException, match=r"Could not schedule .*Connection refused"):
        Down().add(t)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == ("idle", "", None)


def test_an_engine_error_leaves_the_task_as_it_was(task):
    t = task(LIVE)
    with pytest.raises(TaskQueueException, match=r"Could not start .*Connection refused"):
        RecordingBackend(fail=True).add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert not t.launchreport_set.exists()


def test_stop_while_queued_ends_the_run_before_it_starts(task):
    backend = RecordingBackend()
    t = task(LIVE)
    report = backend.add(t)
    outcome = backend.stop_task(Task.objects.get(pk=t.pk), by="alice")
    assert (outcome.stopped, outcome.stopping, outcome.unscheduled) == (1, 0, False)
    assert ("cancel", report.job_id) in backend.calls
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "stopped")
    assert report.reason == "Stopped by alice before it started."
    assert report.duration is None  # it never ran
    t.refresh_from_db()
    assert (t.status, t.cached_last_invocation_result) == ("idle", "stopped")
    # The worker that takes the job now runs nothing.
    assert LaunchReport.objects.start_run(t.pk, report.job_id) is None
    assert t.launchreport_set.count() == 1


def test_stop_on_a_live_run_asks_it_to_stop(task):
    backend = RecordingBackend()
    t = task(LIVE)
    report = running(t)
    outcome = backend.stop_task(t, by="alice")
    assert (outcome.stopped, outcome.stopping) == (0, 1)
    assert backend.calls == [("stop", report.pk)]
    report.refresh_from_db()
    assert report.state == "stopping" and report.finished_at is None
    assert report.get_log_lines()[-1].endswith("WARNING - Stop requested by alice.")
    assert report.n_log_warnings == 0  # the task manager's own line does not count
    t.refresh_from_db()
    assert t.status == Task.STATUS_STARTED


def test_an_engine_that_cannot_stop_does_not_prevent_the_stop(task):
    backend = RecordingBackend(fail=True)
    t = task(LIVE)
    report = running(t)
    assert backend.stop(report, by="alice") == "stopping"  # the run's own thread stops it


def test_stop_on_a_run_whose_worker_is_gone_ends_it(task):
    backend = RecordingBackend()
    t = task(LIVE)
    report = running(t, seconds_since_heartbeat=120, worker="w1 (pid 1)")
    assert backend.stop(report, by="alice") == "finished"
    report.refresh_from_db()
    assert report.invocation_result == "stopped"
    assert report.reason.startswith("Stopped: its process gave no sign of life for 1")
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE


def test_stop_with_nothing_to_stop_says_so(task):
    outcome = RecordingBackend().stop_task(task(LIVE), by="alice")
    assert outcome.nothing


def test_a_backend_that_cannot_stop_refuses_and_changes_nothing(task, settings):
    class NoStop(RecordingBackend):
        supports_stop = False

    start = timezone.now() + timedelta(minutes=10)
    t = task(LIVE, scheduling=start, repetition_period="hour", repetition_rate=1)
    backend = NoStop()
    backend.add(t)
    report = running(t)
    with pytest.raises(TaskQueueException, match="cannot stop a running task"):
        backend.stop_task(Task.objects.get(pk=t.pk), by="alice")
    t.refresh_from_db()
    report.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == ("started", "sched-1")
    assert report.state == "running" and report.n_log_lines == 0


def test_start_ends_a_blocking_run_whose_worker_is_gone(task):
    backend = RecordingBackend()
    t = task(LIVE)
    old = running(t, seconds_since_heartbeat=300, worker="w1 (pid 1)")
    new = backend.add(t)
    old.refresh_from_db()
    assert (old.invocation_result, old.reason) == (
        "failed",
        "Worker lost: no heartbeat for 300 s (w1 (pid 1)).",
    )
    assert new.state == "queued"


def test_start_ends_a_blocking_run_whose_job_the_engine_says_is_over(task):
    t = task(LIVE)
    old = running(t, seconds_since_heartbeat=5, job_id="j1")
    backend = RecordingBackend(jobs={"j1": JobInfo(JobState.ENDED, "failed: horse killed")})
    backend.add(t)
    old.refresh_from_db()
    assert old.reason == "Worker lost: the queue says its job failed: horse killed."


def test_a_live_blocking_run_is_left_alone(task):
    t = task(LIVE)
    running(t, seconds_since_heartbeat=1, job_id="j1")
    backend = RecordingBackend(jobs={"j1": JobInfo(JobState.ENDED, "failed")})
    with pytest.raises(TaskAlreadyRunning):
        backend.add(t)


def test_a_timeout_above_the_engines_limit_is_refused(task):
    class Limited(RecordingBackend):
        max_timeout = 100

    with pytest.raises(TaskNotRunnable, match="timeout of 101 s is more than"):
        Limited().add(task(LIVE, timeout=101))


def test_run_timeout_prefers_the_tasks_own(task):
    class WithDefault(RecordingBackend):
        default_timeout = 50

    backend = WithDefault()
    assert backend.run_timeout(task(LIVE, timeout=7)) == 7
    assert backend.run_timeout(task(LIVE)) == 50
    assert RecordingBackend().run_timeout(task(LIVE)) is None


def test_deactivating_a_command_takes_its_tasks_off_the_schedule(task, settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}

    backend = get_backend()
    start = timezone.now() + timedelta(minutes=10)
    t = task(LIVE, scheduling=start, repetition_period="hour", repetition_rate=1)
    backend.add(t)
    t.command.active = False
    t.command.save()
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == ("idle", "")
    assert backend.calls[-1] == ("unschedule", "sched-1")


def test_a_timeout_above_the_engines_limit_is_a_form_error(task, settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.test_service.Limited"}
    t = task(LIVE, timeout=101)
    with pytest.raises(ValidationError) as caught:
        t.full_clean()
    assert caught.value.message_dict["timeout"] == [
        "A timeout of 101 s is more than the Limited backend allows (100 s)."
    ]
    t.timeout = 31 * 24 * 3600
    with pytest.raises(ValidationError) as caught:
        t.full_clean()
    assert (
        "Ensure this value is less than or equal to 2592000."
        in caught.value.message_dict["timeout"]
    )


class Limited(RecordingBackend):
    max_timeout = 100
