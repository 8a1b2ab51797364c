"""Start now: the task becomes one RQ job that a real RQ worker runs through the core runner."""

import pytest

from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager_rq.backend import NO_TIMEOUT, RUN_TASK
from testsupport.net import free_port

from .helpers import work


@pytest.fixture
def at_commit(django_capture_on_commit_callbacks):
    """Run what waits for the test's transaction to commit (it never does) at the block's end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_add_enqueues_one_job_and_spools_the_task(backend, task, at_commit):
    t = task()
    with at_commit():
        backend.add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_SPOOLED
    jobs = backend.queue.get_jobs()
    assert len(jobs) == 1
    assert jobs[0].func_name == RUN_TASK
    assert jobs[0].args == (t.pk,)
    assert jobs[0].timeout == NO_TIMEOUT


def test_task_timeout_and_result_ttl_reach_the_job(settings, queue_name, task, at_commit):
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": queue_name, "timeout": 120, "result_ttl": 42},
    }
    backend = get_backend()
    with at_commit():
        backend.add(task(timeout=7))
    job = backend.queue.get_jobs()[0]
    assert job.timeout == 7
    assert job.result_ttl == 42


def test_worker_runs_the_task_through_the_runner(backend, task, at_commit):
    t = task()
    with at_commit():
        backend.add(t)
    job_id = backend.queue.get_job_ids()[0]
    work(backend)
    report = LaunchReport.objects.get(task=t)
    assert report.invocation_result == LaunchReport.RESULT_OK, report.get_log_lines()
    assert report.job_id == job_id
    messages = [line.split(" - ", 2)[2] for line in report.get_log_lines()]
    assert messages[0] == "Start" and messages[-1] == "Finished"
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert t.cached_last_invocation_result == LaunchReport.RESULT_OK
    assert backend.fetch_job(job_id).return_value() == report.pk


def test_job_of_a_deleted_task_does_nothing(backend, task, at_commit):
    t = task()
    with at_commit():
        backend.add(t)
    job_id = backend.queue.get_job_ids()[0]
    t.delete()
    work(backend)
    job = backend.fetch_job(job_id)
    assert job.get_status().value == "finished"
    assert job.return_value() is None
    assert not LaunchReport.objects.exists()


def test_redis_down_raises_a_clear_error_and_leaves_the_task(settings, task):
    port = free_port()
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{port}/0"},
    }
    t = task()
    with pytest.raises(
        TaskQueueException, match=rf"Redis at 127\.0\.0\.1:{port}/0 cannot be reached"
    ):
        get_backend().add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert not LaunchReport.objects.exists()


def test_stop_of_a_queued_run_takes_it_off_the_queue(backend, task, at_commit):
    t = task()
    with at_commit():
        backend.add(t)
    job_id = backend.queue.get_job_ids()[0]
    report = LaunchReport.objects.create(task=t, job_id=job_id)
    backend.stop(report, by="tests")
    assert backend.queue.get_job_ids() == []
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    assert "Stopped by tests." in report.get_log_lines()[-1]


def test_inside_a_transaction_the_job_waits_for_the_commit(backend, task, at_commit):
    t = task()
    with at_commit() as callbacks:
        backend.add(t)
        assert backend.queue.get_job_ids() == []  # the worker could not see the rows yet
    assert len(callbacks) == 1
    assert len(backend.queue.get_job_ids()) == 1


def test_a_failed_enqueue_at_commit_puts_the_task_back_to_idle(settings, task):
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{free_port()}/0"},
    }
    t = task(status=Task.STATUS_SPOOLED)
    get_backend().enqueue_after_commit(t.pk, timeout=-1, description="down")
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE


def test_start_without_a_connection_says_how_to_configure_one(settings, task):
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": "nowhere"}}
    t = task()
    with pytest.raises(TaskQueueException, match="not in RQ_QUEUES and no 'url' option"):
        get_backend().add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
