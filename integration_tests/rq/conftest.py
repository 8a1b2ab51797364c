"""Real Redis, a real ``manage.py rqworker`` and a real ``manage.py rqscheduler``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings

from eztaskmanager.models import AppCommand, Task
from eztaskmanager.registry import get_backend
from testsupport.processes import ManagedProcess, wait_until


@pytest.fixture(scope="session")
def rq_queue() -> str:
    return f"eztm-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def rq_env(redis_url: str, rq_queue: str) -> dict[str, str]:
    """What the worker processes need on top of the test process's environment."""
    return {
        "EZTASKMANAGER_USE_TEST_DB": "1",
        "EZTASKMANAGER_RQ_REDIS_URL": redis_url,
        "EZTASKMANAGER_RQ_QUEUE": rq_queue,
    }


@pytest.fixture(scope="session")
def rq_settings(redis_url: str, rq_queue: str) -> Iterator[None]:
    with override_settings(
        RQ_QUEUES={rq_queue: {"URL": redis_url}},
        EZTASKMANAGER={"BACKEND": "rq", "OPTIONS": {"queue": rq_queue}},
    ):
        yield


@pytest.fixture(scope="session")
def rq_processes(django_db_setup, django_db_blocker, rq_env, rq_queue, rq_settings):
    """A long-running worker (a burst one would quit before scheduled jobs are due) and a
    scheduler polling every second, both as a user starts them."""
    worker = ManagedProcess.manage("rqworker", rq_queue, env=rq_env)
    scheduler = ManagedProcess.manage(
        "rqscheduler", "--queue", rq_queue, "--interval", "1", env=rq_env
    )
    try:
        worker.wait_for_output("Listening on", timeout=60)
        scheduler.wait_for_output("Registering birth", timeout=60)
        yield worker, scheduler
    finally:
        for process in (scheduler, worker):
            process.stop()


@pytest.fixture
def worker(rq_processes) -> Iterator[ManagedProcess]:
    worker = rq_processes[0]
    seen = len(worker.output)
    yield worker
    # Every error a job meets is the runner's to record: none may escape to the worker.
    assert "Traceback" not in worker.output[seen:], worker.output[seen:][-3000:]


@pytest.fixture
def backend(rq_processes):
    return get_backend()


@pytest.fixture
def task(transactional_db) -> Callable[..., Task]:
    def make(arguments: str = "--limit=3, --sleep=0", **fields) -> Task:
        command, _ = AppCommand.objects.get_or_create(
            name="test_livelogging_command", app_name="eztaskmanager", defaults={"active": True}
        )
        return Task.objects.create(
            name="live logging", command=command, arguments=arguments, **fields
        )

    return make


def wait_for(condition: Callable[[], object], timeout: float, what: str, worker=None):
    """Poll ``condition`` until it is true; fail saying ``what`` (with the worker's output)."""
    explain = (lambda: f"worker output:\n{worker.output[-3000:]}") if worker else None
    return wait_until(condition, timeout, what, explain)
