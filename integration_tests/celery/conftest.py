"""Real Celery worker and beat processes on a real broker, for the Celery integration tests."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from django.test import override_settings
from kombu import Connection, Exchange, Queue

from eztaskmanager_celery import CeleryBackend
from testsupport.processes import ManagedProcess, wait_until

PROJECT = "integration_tests.celery.proj"
SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"


class Cluster:
    """A worker (prefork, one child) and a beat with the package's scheduler, on one broker;
    more workers (other pools, other queues) and beats on demand."""

    def __init__(self, name: str, broker_url: str, result_backend: str, client: Celery) -> None:
        self.name = name
        self.broker_url = broker_url
        self.client = client
        self.env = {
            "EZTASKMANAGER_USE_TEST_DB": "1",
            "EZTM_CELERY_BROKER_URL": broker_url,
            "EZTM_CELERY_RESULT_BACKEND": result_backend,
        }
        self.workdir = Path(tempfile.mkdtemp(prefix="eztm-celery-"))
        self.worker: ManagedProcess | None = None
        self.beat: ManagedProcess | None = None
        self.processes: dict[str, ManagedProcess] = {}

    def celery(self, label: str, *args: str, env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(
            [sys.executable, "-m", "celery", "-A", PROJECT, *args],
            env={**self.env, **(env or {})},
            cwd=self.workdir,
        )
        self.processes[label] = process
        return process

    def start_worker(
        self,
        pool: str = "prefork",
        queue: str | None = None,
        label: str = "worker",
        env: dict[str, str] | None = None,
    ) -> ManagedProcess:
        """Start a worker with one slot on ``queue`` (``env``: more environment), and wait
        until it consumes."""
        process = self.celery(
            label,
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            f"--queues={queue or settings.QUEUE}",
            f"--hostname=eztm-{self.name}-{label}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            env=env,
        )
        process.wait_for_output(" ready.", timeout=60)
        if label == "worker":
            self.worker = process
        return process

    def start_beat(self, label: str = "beat") -> ManagedProcess:
        process = self.celery(
            label,
            "beat",
            f"--scheduler={SCHEDULER}",
            "--max-interval=1",
            f"--schedule={self.workdir / f'{label}-schedule'}",
            "--loglevel=INFO",
        )
        process.wait_for_output("eztaskmanager: firing scheduled tasks", timeout=60)
        if label == "beat":
            self.beat = process
        return process

    def restart_beat(self) -> None:
        assert self.beat is not None
        self.beat.stop()
        self.start_beat()

    def stop_process(self, label: str) -> None:
        process = self.processes.pop(label, None)
        if process is not None:
            process.stop()

    def backend(self, queue: str | None = None) -> CeleryBackend:
        """A backend of the test process that sends runs to ``queue``."""
        return CeleryBackend(app=self.client, queue=queue or settings.QUEUE, connect_timeout=2)

    def stop(self) -> None:
        for label in reversed(list(self.processes)):
            self.stop_process(label)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def output(self) -> str:
        """The last lines of every process, to explain a failure."""
        return "\n".join(
            f"--- {label} ---\n{process.output[-3000:]}"
            for label, process in self.processes.items()
        )

    def wait_for(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll ``check`` until it returns something true; fail with the processes' output."""
        return wait_until(check, timeout, f"{what} on {self.name}", self.output)


def purge(broker_url: str, *queues: str) -> None:
    """Empty the test queues: a broker that outlives the tests may hold old messages."""
    with Connection(broker_url, connect_timeout=5) as conn:
        for name in queues or (settings.QUEUE,):
            bound = Queue(name, Exchange(name), routing_key=name)(conn.default_channel)
            bound.declare()
            bound.purge()


@contextmanager
def running_cluster(name: str, broker_url: str, result_backend: str) -> Iterator[Cluster]:
    """Start a worker and a beat on ``broker_url``; give this process an app on it too.

    Each broker gets its own app object here: an app's pooled connections (which
    revoke uses) stay bound to the broker they were made for.
    """
    purge(broker_url)
    client = Celery("eztm_integration_tests", set_as_current=False)
    client.config_from_object("django.conf:settings", namespace="CELERY")
    client.conf.broker_url = broker_url
    client.conf.result_backend = result_backend
    config = dict(settings.EZTASKMANAGER)
    config["OPTIONS"] = {**config["OPTIONS"], "app": client}
    cluster = Cluster(name, broker_url, result_backend, client)
    try:
        with override_settings(EZTASKMANAGER=config):
            cluster.start_worker()
            cluster.start_beat()
            yield cluster
    finally:
        cluster.stop()
        purge(broker_url)
        client.close()


@pytest.fixture(scope="session")
def redis_cluster(django_db_setup, redis_url) -> Iterator[Cluster]:
    """The worker and beat on Redis, shared by the Redis scenarios and the fault tests.

    First used by ``test_redis.py``, which pytest runs after ``test_rabbitmq.py``: the
    RabbitMQ cluster, whose beat reads the same Task table, is gone by then.
    """
    with running_cluster("redis", redis_url, redis_url) as started:
        yield started
