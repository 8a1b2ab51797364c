"""The backend against a real Redis broker: what it publishes, schedules, revokes, refuses."""

import time
from datetime import timedelta

import pytest
import redis
from celery import Celery
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.exceptions import InvalidOptions
from eztaskmanager.models import MAX_TIMEOUT, LaunchReport, Task
from eztaskmanager.registry import build_backend
from eztaskmanager.services.queues import JobState, TaskQueueException, get_task_service
from eztaskmanager_celery import CeleryBackend
from eztaskmanager_celery.tasks import RUN_TASK_NAME, run_management_command
from testsupport.net import free_port

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


@pytest.fixture
def revokes(monkeypatch):
    """The revokes the backend sends (still sent to the broker), as (job id, terminate)."""
    sent = []
    real = CeleryBackend.revoke

    def spy(self, job_id, terminate):
        sent.append((job_id, terminate))
        return real(self, job_id, terminate)

    monkeypatch.setattr(CeleryBackend, "revoke", spy)
    return sent


def test_backend_name_resolves(app):
    backend = get_task_service()
    assert isinstance(backend, CeleryBackend)
    assert backend.app is app
    assert (backend.supports_schedule, backend.supports_stop) == (True, True)


def test_start_publishes_the_run_with_its_job_id(app, task, queued):
    t = task(LIVE, "--limit=1")
    report = get_task_service().add(t)
    t.refresh_from_db()
    (message,) = queued("eztm-unit")
    assert message.headers["task"] == RUN_TASK_NAME
    assert message.body[0] == [t.pk]
    # The Celery id is the queued run's job id, so that Stop can revoke it while it waits.
    assert message.headers["id"] == report.job_id
    assert (report.state, t.status) == (LaunchReport.STATE_QUEUED, Task.STATUS_SPOOLED)
    # The task's schedule handle is not a run's job id.
    assert t.scheduled_job_id == ""
    assert queued("eztm-unit-default") == []


def test_time_limits_leave_the_core_its_own_timeout_first(app, task, queued):
    backend = CeleryBackend(app=app, queue="eztm-other", apply_async_options={"priority": 3})
    backend.add(task(LIVE, timeout=30))
    (message,) = queued("eztm-other")
    # [hard, soft]: both after the run's own timeout, which the core enforces.
    assert message.headers["timelimit"] == [45, 35]
    assert message.properties["priority"] == 3


def test_no_timeout_means_no_time_limit(app, task, queued):
    get_task_service().add(task(LIVE))
    (message,) = queued("eztm-unit")
    assert message.headers["timelimit"] == [None, None]


def test_the_longest_timeout_a_task_may_have_is_accepted(app, task, queued):
    get_task_service().add(task(LIVE, timeout=MAX_TIMEOUT))
    (message,) = queued("eztm-unit")
    assert message.headers["timelimit"] == [MAX_TIMEOUT + 15, MAX_TIMEOUT + 5]


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


def test_starts_keep_one_broker_connection_and_survive_the_broker_dropping_it(
    app, task, queued, redis_url
):
    """Connecting for each start cost more than the publish: the connection is kept, and
    one the broker dropped meanwhile is replaced at once, the run published all the same."""
    backend = get_task_service()
    backend.add(task(LIVE))
    broker = redis.Redis.from_url(redis_url)
    connections = broker.info("stats")["total_connections_received"]
    backend.add(task(LIVE))
    assert broker.info("stats")["total_connections_received"] == connections
    broker.client_kill_filter(_type="normal", skipme=True)  # the broker drops its clients
    third = backend.add(task(LIVE))
    broker.close()
    published = [message.headers["id"] for message in queued("eztm-unit")]
    assert len(published) == 3 and published[-1] == third.job_id
    third.refresh_from_db()
    assert third.state == LaunchReport.STATE_QUEUED


def test_schedule_sends_nothing_and_hands_the_task_to_the_beat(app, task, queued):
    at = timezone.now() + timedelta(hours=1)
    t = task(LIVE, scheduling=at)
    assert get_task_service().add(t) is None
    t.refresh_from_db()
    assert queued("eztm-unit") == []
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == (
        Task.STATUS_SCHEDULED,
        f"beat:{t.pk}",
        at,
    )


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


def test_the_run_goes_back_to_idle_and_names_its_worker(app, task, monkeypatch):
    # An eager run's request.hostname comes from this function, a worker's from its name.
    monkeypatch.setattr("celery.app.task.gethostname", lambda: "celery@unit")
    t = task(LIVE, "--limit=2,--sleep=0")
    report = get_task_service().add(t)
    result = run_management_command.apply(args=(t.pk,), task_id=report.job_id).get()
    t.refresh_from_db()
    report.refresh_from_db()
    assert result == {"report": report.pk, "result": "ok"}
    assert report.worker.startswith("celery@unit (pid ")
    assert (t.status, t.scheduled_job_id, t.launchreport_set.count()) == (Task.STATUS_IDLE, "", 1)


def test_stop_on_a_queued_run_revokes_it_without_terminate(app, task, revokes):
    t = task(LIVE)
    report = get_task_service().add(t)
    outcome = get_task_service().stop_task(t, by="tester")
    report.refresh_from_db()
    assert outcome.stopped == 1
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    assert report.reason == "Stopped by tester before it started."
    assert revokes == [(report.job_id, False)]
    # The worker that gets the job anyway does not run it.
    assert run_management_command.apply(args=(t.pk,), task_id=report.job_id).get() is None


def test_stop_execution_revokes_with_terminate(app, task, revokes):
    report = LaunchReport(task=task(LIVE), job_id="some-celery-id")
    get_task_service().stop_execution(report)
    assert revokes == [("some-celery-id", True)]


def test_stop_execution_needs_a_job_id(app, task):
    with pytest.raises(TaskQueueException, match="no Celery task id"):
        get_task_service().stop_execution(LaunchReport(task=task(LIVE)))


def test_stop_execution_with_broker_down_fails_fast(task):
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(TaskQueueException, match="Cannot reach the Celery broker"):
        CeleryBackend(app=dead, connect_timeout=1).stop_execution(
            LaunchReport(task=task(LIVE), job_id="abc")
        )
    assert time.monotonic() - started < 3


def test_job_state_without_a_result_backend_is_unknown(app):
    app.conf.result_backend = None
    app.__dict__.pop("backend", None)
    try:
        info = CeleryBackend(app=app).job_state("anything")
    finally:
        app.__dict__.pop("backend", None)
    assert info.state is JobState.UNKNOWN


def test_job_state_from_the_result_backend(app):
    backend = CeleryBackend(app=app)
    results = app.backend
    assert backend.job_state("never-seen").state is JobState.UNKNOWN  # PENDING tells nothing
    results.store_result("started", None, "STARTED")
    results.store_result("retried", None, "RETRY")
    results.mark_as_done("done", {"report": 1})
    results.mark_as_failure("failed", RuntimeError("boom"))
    results.mark_as_revoked("revoked", "terminated")
    got = {
        job: backend.job_state(job) for job in ("started", "retried", "done", "failed", "revoked")
    }
    assert {job: info.state for job, info in got.items()} == {
        "started": JobState.RUNNING,
        "retried": JobState.QUEUED,
        "done": JobState.ENDED,
        "failed": JobState.ENDED,
        "revoked": JobState.ENDED,
    }
    assert got["failed"].detail == "failed: RuntimeError('boom')"
    assert got["revoked"].detail == "revoked"


def test_only_schedules_of_another_backend_are_lost(app, task):
    ours = task(LIVE, name="on the beat")
    Task.objects.filter(pk=ours.pk).update(scheduled_job_id=f"beat:{ours.pk}")
    theirs = task(LIVE, name="booked on rq")
    Task.objects.filter(pk=theirs.pk).update(scheduled_job_id="rq-job-123")
    tasks = list(Task.objects.exclude(scheduled_job_id="").order_by("pk"))
    assert get_task_service().lost_schedules(tasks) == [theirs]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue": ""}, "'queue' must be a queue name, not ''."),
        (
            {"apply_async_options": []},
            "'apply_async_options' must be a dict of apply_async() keywords, not [].",
        ),
        ({"connect_timeout": 0}, "'connect_timeout' must be a positive number of seconds, not 0."),
        (
            {"connect_timeout": "3"},
            "'connect_timeout' must be a positive number of seconds, not '3'.",
        ),
        (
            {"stop_signal": "SIGNOPE"},
            "'stop_signal' must be a signal name like 'SIGKILL', not 'SIGNOPE'.",
        ),
        ({"app": 7}, "'app' must be a Celery app or its dotted path (proj.celery:app), not 7."),
        (
            {"app": "nowhere.celery:app"},
            "'app' must be a Celery app or its dotted path; 'nowhere.celery:app' does not import: "
            "No module named 'nowhere'",
        ),
        (
            {"app": "tests.settings:DATABASES"},
            "'app' must be a Celery app or its dotted path; 'tests.settings:DATABASES' is a dict.",
        ),
        (
            {"colour": "blue"},
            "unknown option 'colour'; the options are app, queue, queues, apply_async_options, "
            "connect_timeout, stop_signal.",
        ),
    ],
)
def test_bad_options_are_refused_in_the_core_style(options, message):
    with (
        override_settings(EZTASKMANAGER={"BACKEND": "celery", "OPTIONS": options}),
        pytest.raises(InvalidOptions) as refused,
    ):
        build_backend()
    assert str(refused.value) == f'EZTASKMANAGER["OPTIONS"]: celery: {message}'
