"""Real Celery worker and beat processes on a real broker, for the Celery integration tests."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings
from django.test import override_settings
from kombu import Connection, Exchange, Queue

from testsupport.processes import ManagedProcess, wait_until

PROJECT = "integration_tests.celery.proj"
SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"


class Cluster:
    """A worker (prefork, one child) and a beat with the package's scheduler, on one broker."""

    def __init__(self, name: str, broker_url: str, result_backend: str) -> None:
        self.name = name
        self.broker_url = broker_url
        self.env = {
            "EZTASKMANAGER_USE_TEST_DB": "1",
            "EZTM_CELERY_BROKER_URL": broker_url,
            "EZTM_CELERY_RESULT_BACKEND": result_backend,
        }
        self.workdir = Path(tempfile.mkdtemp(prefix="eztm-celery-"))
        self.worker: ManagedProcess | None = None
        self.beat: ManagedProcess | None = None

    def celery(self, *args: str) -> ManagedProcess:
        return ManagedProcess(
            [sys.executable, "-m", "celery", "-A", PROJECT, *args], env=self.env, cwd=self.workdir
        )

    def start_worker(self) -> None:
        self.worker = self.celery(
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            f"--queues={settings.QUEUE}",
            f"--hostname=eztm-{self.name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        )
        self.worker.wait_for_output(" ready.", timeout=60)

    def start_beat(self) -> None:
        self.beat = self.celery(
            "beat",
            f"--scheduler={SCHEDULER}",
            "--max-interval=1",
            f"--schedule={self.workdir / 'beat-schedule'}",
            "--loglevel=INFO",
        )
        self.beat.wait_for_output("eztaskmanager: firing scheduled tasks", timeout=60)

    def restart_beat(self) -> None:
        assert self.beat is not None
        self.beat.stop()
        self.start_beat()

    def stop(self) -> None:
        for process in (self.beat, self.worker):
            if process is not None:
                process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def output(self) -> str:
        """The last lines of both processes, to explain a failure."""
        parts = []
        for label, process in (("worker", self.worker), ("beat", self.beat)):
            if process is not None:
                parts.append(f"--- {label} ---\n{process.output[-3000:]}")
        return "\n".join(parts)

    def wait_for(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll ``check`` until it returns something true; fail with both processes' output."""
        return wait_until(check, timeout, f"{what} on {self.name}", self.output)


def purge(broker_url: str) -> None:
    """Empty the test queue: a broker that outlives the tests may hold old messages."""
    with Connection(broker_url, connect_timeout=5) as conn:
        queue = Queue(settings.QUEUE, Exchange(settings.QUEUE), routing_key=settings.QUEUE)
        bound = queue(conn.default_channel)
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
    cluster = Cluster(name, broker_url, result_backend)
    try:
        with override_settings(EZTASKMANAGER=config):
            cluster.start_worker()
            cluster.start_beat()
            yield cluster
    finally:
        cluster.stop()
        purge(broker_url)
        client.close()
