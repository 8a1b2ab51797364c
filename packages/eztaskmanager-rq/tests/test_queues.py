"""A queue per task: a task's runs and schedule go to the RQ queue it names."""

from datetime import timedelta

import pytest
from django.utils import timezone
from redis import Redis
from rq import Queue, SimpleWorker

from eztaskmanager.exceptions import TaskNotRunnable
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager_rq.backend import JOB_TIMEOUT_GRACE

from .helpers import fire, work


@pytest.fixture
def heavy(settings, redis_url, queue_name):
    """A second queue on the test Redis, and one on another Redis database."""
    name = f"{queue_name}-heavy"
    other_db = redis_url.rsplit("/", 1)[0] + "/1"
    settings.RQ_QUEUES = {
        queue_name: {"URL": redis_url},
        name: {"URL": redis_url},
        "elsewhere": {"URL": other_db},
    }
    yield name
    Redis.from_url(redis_url).delete(f"rq:queue:{name}")


@pytest.fixture
def backend(heavy):
    return get_backend()


@pytest.fixture
def at_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def work_on(backend, name: str) -> None:
    """Run the jobs of queue ``name`` with a real RQ worker listening on it alone."""
    SimpleWorker([Queue(name, connection=backend.connection)], connection=backend.connection).work(
        burst=True
    )


def test_the_queues_a_task_may_name_are_those_on_the_backends_redis(backend, queue_name, heavy):
    # "elsewhere" is on another Redis database: a run's job is looked for on the backend's.
    assert backend.queue_names() == [queue_name, heavy]


def test_without_rq_queues_only_the_backends_own_queue(settings, redis_url):
    settings.RQ_QUEUES = {}
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": "solo", "url": redis_url}}
    assert get_backend().queue_names() == ["solo"]


def test_a_run_goes_to_the_tasks_queue_and_only_its_workers_run_it(backend, task, heavy, at_commit):
    t = task(queue=heavy)
    with at_commit():  # the test's transaction never commits: its callbacks run here
        report = backend.add(t)
    assert backend.queue.get_job_ids() == []
    assert Queue(heavy, connection=backend.connection).get_job_ids() == [report.job_id]
    work(backend)  # a worker of the default queue
    report.refresh_from_db()
    assert report.state == LaunchReport.STATE_QUEUED
    work_on(backend, heavy)
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_OK, report.get_log_lines()


def test_a_task_without_a_queue_goes_to_the_backends(backend, task, heavy, at_commit):
    with at_commit():
        report = backend.add(task())
    assert backend.queue.get_job_ids() == [report.job_id]
    assert Queue(heavy, connection=backend.connection).get_job_ids() == []


@pytest.mark.parametrize("queue", ["nowhere", "elsewhere"])
def test_an_unknown_queue_is_refused_and_nothing_is_queued(backend, task, queue, queue_name):
    t = task(queue=queue)
    with pytest.raises(TaskNotRunnable, match=f"queue '{queue}'.*{queue_name}"):
        backend.add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert not LaunchReport.objects.exists()
    assert Queue(queue, connection=backend.connection).get_job_ids() == []


def test_a_schedule_is_booked_for_the_tasks_queue_and_moves_on_there(backend, task, heavy):
    t = task(
        queue=heavy,
        scheduling=timezone.now() + timedelta(hours=1),
        repetition_period=Task.REPETITION_PERIOD_HOUR,
        repetition_rate=1,
    )
    backend.add(t)
    t.refresh_from_db()
    first = t.scheduled_job_id
    assert backend.fetch_job(first).origin == heavy
    fire(backend, first)  # rq-scheduler moves the due job to the job's queue
    assert Queue(heavy, connection=backend.connection).get_job_ids() == [first]
    # Not lost while it waits in its queue: the lookout reads the job, whatever its queue.
    assert backend.lost_schedules([t]) == []
    work_on(backend, heavy)
    report = LaunchReport.objects.get(task=t)
    assert report.invocation_result == LaunchReport.RESULT_OK, report.get_log_lines()
    t.refresh_from_db()
    assert t.scheduled_job_id not in ("", first)
    assert backend.fetch_job(t.scheduled_job_id).origin == heavy


def test_a_lost_schedule_is_booked_again_on_the_tasks_queue(backend, task, heavy):
    t = task(queue=heavy, scheduling=timezone.now() + timedelta(hours=1))
    backend.add(t)
    t.refresh_from_db()
    backend.connection.delete(f"rq:job:{t.scheduled_job_id}")
    backend.scheduler.cancel(t.scheduled_job_id)
    assert backend.lost_schedules([t]) == [t]
    backend.rearm(t)
    t.refresh_from_db()
    assert backend.fetch_job(t.scheduled_job_id).origin == heavy


def test_a_new_queue_saved_on_a_scheduled_task_books_its_schedule_there(backend, task, heavy):
    t = task(scheduling=timezone.now() + timedelta(hours=1))
    backend.add(t)
    t.refresh_from_db()
    first = t.scheduled_job_id
    assert backend.fetch_job(first).origin == backend.queue_name
    t.queue = heavy
    t.save(update_fields=["queue"])
    t.refresh_from_db()
    assert t.scheduled_job_id != first and backend.fetch_job(first) is None
    assert backend.fetch_job(t.scheduled_job_id).origin == heavy


@pytest.mark.parametrize(
    ("queue", "timeout", "option", "expected"),
    [
        ("", None, None, 60),  # the backend queue's DEFAULT_TIMEOUT
        ("heavy", None, None, 3600),  # the task's queue's
        ("heavy", 5, None, 5),  # the task's own timeout first
        ("heavy", None, 100, 100),  # then the backend's timeout option
    ],
)
def test_a_run_on_a_queue_gets_that_queues_default_timeout(
    settings, redis_url, queue_name, heavy, task, queue, timeout, option, expected
):
    settings.RQ_QUEUES = {
        queue_name: {"URL": redis_url, "DEFAULT_TIMEOUT": 60},
        heavy: {"URL": redis_url, "DEFAULT_TIMEOUT": 3600},
    }
    options = {"queue": queue_name, **({"timeout": option} if option else {})}
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": options}
    backend = get_backend()
    t = task(queue=heavy if queue else "", timeout=timeout)
    assert backend.run_timeout(t) == expected
    assert backend.job_timeout(t) == expected + JOB_TIMEOUT_GRACE
