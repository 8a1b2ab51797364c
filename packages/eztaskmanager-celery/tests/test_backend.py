"""The backend against a real Redis broker: what it publishes, schedules, revokes, refuses."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.exceptions import ConfigurationError
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import build_backend
from eztaskmanager.services.queues import TaskQueueException, get_task_service
from eztaskmanager_celery import CeleryBackend
from eztaskmanager_celery.models import BeatEntry
from eztaskmanager_celery.tasks import RUN_TASK_NAME
from testsupport.net import free_port

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def test_backend_name_resolves(app):
    backend = get_task_service()
    assert isinstance(backend, CeleryBackend)
    assert backend.app is app
    assert (backend.supports_schedule, backend.supports_stop) == (True, True)


def test_start_publishes_the_task_to_the_configured_queue(app, task, queued):
    t = task(LIVE, "--limit=1")
    get_task_service().add(t)
    t.refresh_from_db()
    (message,) = queued("eztm-unit")
    headers = message.headers
    assert headers["task"] == RUN_TASK_NAME
    assert message.body[0] == [t.pk]
    assert t.status == Task.STATUS_SPOOLED
    # The queued job's id is kept, so that Stop can revoke it while it waits.
    assert t.scheduled_job_id == headers["id"]
    assert queued("eztm-unit-default") == []


def test_routing_options_and_time_limit(app, task, queued):
    backend = CeleryBackend(app=app, queue="eztm-other", apply_async_options={"priority": 3})
    t = task(LIVE, timeout=30)
    backend.add(t)
    (message,) = queued("eztm-other")
    assert message.headers["timelimit"] == [40, 30]
    assert message.properties["priority"] == 3


def test_without_queue_celery_routing_applies(app, task, queued):
    CeleryBackend(app=app).add(task(LIVE))
    assert len(queued("eztm-unit-default")) == 1


def test_broker_down_raises_fast_and_leaves_task_unchanged(task):
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0")
    backend = CeleryBackend(app=dead, connect_timeout=1)
    t = task(LIVE)
    started = time.monotonic()
    with pytest.raises(TaskQueueException) as info:
        backend.add(t)
    assert time.monotonic() - started < 3
    assert "Cannot reach the Celery broker at redis://127.0.0.1:" in str(info.value)
    assert "CELERY_BROKER_URL" in str(info.value)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.launchreport_set.count()) == (Task.STATUS_IDLE, "", 0)


def test_schedule_sends_nothing_and_hands_the_task_to_the_beat(app, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = task(LIVE, scheduling=at)
    get_task_service().add(t)
    t.refresh_from_db()
    assert queued("eztm-unit") == []
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_SCHEDULED, f"beat:{t.pk}")
    assert t.cached_next_ride == at
    entry = BeatEntry.objects.get(task=t)
    assert entry.handled_until <= timezone.now() < at


def test_periodic_next_run_follows_the_core_rules(app, task):
    start = timezone.now() - timedelta(minutes=10, seconds=30)
    t = task(LIVE, scheduling=start, repetition_period="minute", repetition_rate=5)
    get_task_service().add(t)
    t.refresh_from_db()
    assert t.cached_next_ride == start + timedelta(minutes=15)


def test_remove_unschedules(app, task):
    t = task(LIVE, scheduling=timezone.now() + timedelta(hours=1))
    backend = get_task_service()
    backend.add(t)
    backend.remove(t)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (Task.STATUS_IDLE, "", None)
    assert backend.next_run(t) is None


def test_rescheduling_never_moves_handled_until_back(app, task):
    t = task(LIVE, scheduling=timezone.now() + timedelta(hours=1))
    backend = get_task_service()
    backend.add(t)
    later = timezone.now() + timedelta(seconds=30)
    BeatEntry.objects.filter(task=t).update(handled_until=later)
    backend.add(t)
    assert BeatEntry.objects.get(task=t).handled_until == later


def test_next_run_of_a_fired_one_off_is_none(app, task):
    at = timezone.now() + timedelta(seconds=5)
    t = task(LIVE, scheduling=at)
    backend = get_task_service()
    backend.add(t)
    assert backend.next_run(t) == at
    BeatEntry.objects.filter(task=t).update(handled_until=at + timedelta(microseconds=5))
    assert backend.next_run(t) is None


def test_run_now_goes_back_to_idle_after_the_run(app, task):
    t = task(LIVE, "--limit=2,--sleep=0")
    get_task_service().add(t)
    t.refresh_from_db()
    from eztaskmanager_celery.tasks import run_management_command

    result = run_management_command.apply(args=(t.pk,), task_id=t.scheduled_job_id).get()
    t.refresh_from_db()
    report = LaunchReport.objects.get(pk=result["report"])
    assert result["result"] == report.invocation_result == "ok"
    assert report.job_id == t.launchreport_set.get().job_id
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")


def test_stop_with_broker_down_leaves_the_run_going(task):
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0")
    backend = CeleryBackend(app=dead, connect_timeout=1)
    t = task(LIVE)
    report = LaunchReport.objects.create(task=t, job_id="abc")
    with pytest.raises(TaskQueueException):
        backend.stop(report)
    report.refresh_from_db()
    assert report.is_running


def test_stop_needs_a_job_id(app, task):
    report = LaunchReport.objects.create(task=task(LIVE))
    with pytest.raises(TaskQueueException, match="no Celery task id"):
        get_task_service().stop(report)


def test_stop_revokes_and_marks_stopped(app, task):
    t = task(LIVE)
    Task.objects.filter(pk=t.pk).update(status=Task.STATUS_STARTED)
    report = LaunchReport.objects.create(task=t, job_id="some-celery-id")
    get_task_service().stop_task(Task.objects.get(pk=t.pk), by="tester")
    report.refresh_from_db()
    t.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    assert report.get_log_lines()[-1].endswith("Stopped by tester.")
    assert t.status == Task.STATUS_IDLE


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue": ""}, "queue must be a queue name"),
        ({"connect_timeout": 0}, "connect_timeout must be a positive number"),
        ({"schedule_speedup": 0}, "schedule_speedup must be a whole number"),
        ({"schedule_speedup": 1.5}, "schedule_speedup must be a whole number"),
        ({"app": "nowhere.celery:app"}, "cannot import the Celery app 'nowhere.celery:app'"),
        ({"app": "tests.settings:DATABASES"}, "app must be a Celery app"),
        ({"stop_signal": "SIGNOPE"}, "stop_signal must be a signal name"),
        ({"colour": "blue"}, "unexpected keyword argument 'colour'"),
    ],
)
def test_bad_options_are_configuration_errors(options, message):
    with (
        override_settings(EZTASKMANAGER={"BACKEND": "celery", "OPTIONS": options}),
        pytest.raises(ConfigurationError, match=message),
    ):
        build_backend()
