"""Start now: the task becomes one RQ job that a real RQ worker runs through the core runner."""

import pytest

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager_rq.backend import JOB_TIMEOUT_GRACE, NO_TIMEOUT, RUN_TASK
from testsupport.net import free_port

from .helpers import work


@pytest.fixture
def at_commit(django_capture_on_commit_callbacks):
    """Run what waits for the test's transaction to commit (it never does) at the block's end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_add_enqueues_one_job_with_the_runs_id_and_spools_the_task(backend, task, at_commit):
    t = task()
    with at_commit():
        report = backend.add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_SPOOLED
    assert t.scheduled_job_id == ""  # a run's job id lives on its report
    jobs = backend.queue.get_jobs()
    assert len(jobs) == 1
    assert jobs[0].id == report.job_id
    assert jobs[0].func_name == RUN_TASK
    assert jobs[0].args == (t.pk,)
    assert jobs[0].timeout == NO_TIMEOUT
    assert report.state == LaunchReport.STATE_QUEUED and report.timeout is None


def test_the_job_gets_the_runs_timeout_plus_a_grace(settings, queue_name, task, at_commit):
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": queue_name, "timeout": 120, "result_ttl": 42},
    }
    backend = get_backend()
    with at_commit():
        report = backend.add(task(timeout=7))
    job = backend.queue.get_jobs()[0]
    # The core's own deadline ends the run at 7 s ("Timed out after 7 s."); RQ's is a backstop.
    assert report.timeout == 7
    assert job.timeout == 7 + JOB_TIMEOUT_GRACE
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
    job = backend.fetch_job(job_id)
    assert report.worker.startswith(f"{job.worker_name} (pid "), report.worker
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
        report = backend.add(t)
    assert backend.queue.get_job_ids() == [report.job_id]
    assert backend.stop(report, by="tests") == LaunchReport.STATE_FINISHED
    assert backend.queue.get_job_ids() == []
    assert backend.fetch_job(report.job_id) is None
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_STOPPED
    assert report.reason == "Stopped by tests before it started."
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE


def test_a_second_start_while_queued_is_refused(backend, task, at_commit):
    t = task()
    with at_commit():
        backend.add(t)
        with pytest.raises(TaskAlreadyRunning, match="already queued"):
            backend.add(Task.objects.get(pk=t.pk))
    assert len(backend.queue.get_job_ids()) == 1
    assert LaunchReport.objects.filter(task=t).count() == 1


def test_inside_a_transaction_the_job_waits_for_the_commit(backend, task, at_commit):
    t = task()
    with at_commit() as callbacks:
        backend.add(t)
        assert backend.queue.get_job_ids() == []  # the worker could not see the rows yet
    assert len(callbacks) == 1
    assert len(backend.queue.get_job_ids()) == 1


def test_a_failed_enqueue_at_commit_discards_the_queued_run(settings, task):
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{free_port()}/0"},
    }
    t = task()
    report = t.queue_run("job-1")
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_SPOOLED
    get_backend().enqueue_after_commit(t.pk, "job-1", timeout=-1, description="down")
    assert not LaunchReport.objects.filter(pk=report.pk).exists()
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE


def test_start_without_a_connection_says_how_to_configure_one(settings, task):
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": "nowhere"}}
    t = task()
    with pytest.raises(TaskQueueException, match="not in RQ_QUEUES and no 'url' option"):
        get_backend().add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
