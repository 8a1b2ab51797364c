"""Real Redis, a real ``manage.py rqworker`` and a real ``manage.py rqscheduler``."""

from __future__ import annotations

import copy
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from testsupport.processes import ManagedProcess, wait_until
from testsupport.tasks import make_task

from .cluster import Cluster, RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """This suite's own Redis: the fault tests crash it and start it again, empty."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def rq_queue() -> str:
    return f"eztm-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def notify_file() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="eztm-rq-notify-") as folder:
        yield str(Path(folder) / "notifications.jsonl")


@pytest.fixture(scope="session")
def rq_env(redis_url: str, rq_queue: str, notify_file: str) -> dict[str, str]:
    """What the worker processes need on top of the test process's environment."""
    return {
        "EZTASKMANAGER_USE_TEST_DB": "1",
        "EZTASKMANAGER_RQ_REDIS_URL": redis_url,
        "EZTASKMANAGER_RQ_QUEUE": rq_queue,
        "EZTASKMANAGER_RQ_NOTIFY_FILE": notify_file,
    }


@pytest.fixture(scope="session")
def rq_settings(redis_url: str, rq_queue: str, notify_file: str) -> Iterator[None]:
    config = {**copy.deepcopy(settings.EZTASKMANAGER), "OPTIONS": {"queue": rq_queue}}
    config["NOTIFIERS"]["file"]["OPTIONS"] = {"path": notify_file}
    with override_settings(RQ_QUEUES={rq_queue: {"URL": redis_url}}, EZTASKMANAGER=config):
        yield


@pytest.fixture(scope="session")
def rq_cluster(django_db_setup, django_db_blocker, rq_env, rq_queue, rq_settings):
    """A long-running worker (a burst one would quit before scheduled jobs are due) and a
    scheduler polling every second, both as a user starts them; started again when a
    test killed them."""
    cluster = Cluster(rq_env, rq_queue)
    try:
        cluster.start_worker(wait=False)
        cluster.start_scheduler(wait=False)
        cluster.worker.wait_for_output("Listening on", timeout=60)
        cluster.scheduler.wait_for_output("Registering birth", timeout=60)
        yield cluster
    finally:
        with django_db_blocker.unblock():
            cluster.stop()


@pytest.fixture
def cluster(rq_cluster: Cluster) -> Cluster:
    """The session's processes, alive (a test before may have killed some)."""
    rq_cluster.ensure()
    return rq_cluster


@pytest.fixture
def rq_processes(cluster: Cluster) -> tuple[ManagedProcess, ManagedProcess]:
    return cluster.worker, cluster.scheduler


@pytest.fixture
def worker(cluster: Cluster) -> Iterator[ManagedProcess]:
    worker = cluster.worker
    seen = len(worker.output)
    yield worker
    # Every error a job meets is the runner's to record: none may escape to the worker.
    assert "Traceback" not in worker.output[seen:], worker.output[seen:][-3000:]


@pytest.fixture
def backend(cluster):
    return get_backend()


@pytest.fixture
def task(transactional_db) -> Callable[..., Task]:
    def make(arguments: str = "--limit=3, --sleep=0", **fields) -> Task:
        return make_task("test_livelogging_command", arguments, name="live logging", **fields)

    return make


@pytest.fixture
def every_two_seconds(backend, task) -> Callable[[], Task]:
    """Start a task that runs every minute from a second from now: every 2 s on the test clock."""

    def start() -> Task:
        t = task(
            scheduling=timezone.now() + timedelta(seconds=1),
            repetition_period=Task.REPETITION_PERIOD_MINUTE,
            repetition_rate=1,
        )
        backend.add(t)
        return t

    return start


def wait_for(condition: Callable[[], object], timeout: float, what: str, worker=None):
    """Poll ``condition`` until it is true; fail saying ``what`` (with the processes' output)."""
    if isinstance(worker, Cluster):
        explain = worker.output
    elif worker is not None:
        explain = lambda: f"worker output:\n{worker.output[-3000:]}"  # noqa: E731
    else:
        explain = None
    return wait_until(condition, timeout, what, explain)


def run_probe_command(backend, worker, command: str) -> LaunchReport:
    """Start a task of the probe app's ``command``; return its report once it has ended."""
    queued = backend.add(make_task(command, app_name="integration_tests.rq.probe"))
    return wait_for(
        lambda: LaunchReport.objects.filter(pk=queued.pk, finished_at__isnull=False).first(),
        30,
        f"the {command} run to finish",
        worker,
    )
