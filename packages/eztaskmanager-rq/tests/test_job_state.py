"""What RQ says of a job, in the core's words: queued, running, ended (and why), missing.

A work-horse killed under its job is in test_worker.py, with the worker that sees it.
"""

import pytest
from rq import SimpleWorker

from eztaskmanager.services.queues import JobInfo, JobState
from eztaskmanager_rq import compat


@pytest.fixture
def job(backend):
    return backend.queue.enqueue_call("tests.helpers.kill_myself", job_id="job-under-test")


def test_a_job_redis_does_not_know_is_missing(backend):
    info = backend.job_state("no-such-job")
    assert info.state == JobState.MISSING


def test_a_queued_job(backend, job):
    assert backend.job_state(job.id).state == JobState.QUEUED


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (compat.JobStatus.SCHEDULED, JobState.QUEUED),
        (compat.JobStatus.DEFERRED, JobState.QUEUED),
        (compat.JobStatus.STARTED, JobState.RUNNING),
        (compat.JobStatus.FINISHED, JobState.ENDED),
        (compat.JobStatus.CANCELED, JobState.ENDED),
    ],
)
def test_rq_statuses_map_onto_the_cores(backend, job, status, state):
    job.set_status(status)
    assert backend.job_state(job.id) == JobInfo(state, status.value)


def test_a_failed_job_says_why_with_the_last_line_of_its_traceback(backend):
    job = backend.queue.enqueue_call("tests.helpers.fail")
    SimpleWorker([backend.queue], connection=backend.connection).work(burst=True)
    assert backend.job_state(job.id) == JobInfo(JobState.ENDED, "failed: ValueError: boom")


def test_an_expired_job_hash_is_missing(backend, job):
    backend.connection.delete(job.key)
    assert backend.job_state(job.id).state == JobState.MISSING
