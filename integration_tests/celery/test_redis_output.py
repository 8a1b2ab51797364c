"""What a command prints reaches its report on real Celery workers, as on every backend.

Celery sends a worker's ``print()`` to its log as WARNING (``worker_redirect_stdouts``);
in a run's thread the runner takes it first, as INFO, on the prefork and threads pools.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from eztaskmanager.models import LaunchReport
from integration_tests.celery.conftest import purge
from integration_tests.celery.faultlog import wait_final
from testsupport.tasks import make_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXPECTED = [
    ("INFO", "printed to stdout"),
    ("INFO", "written to self.stdout"),
    ("WARNING", "printed to stderr"),
    ("INFO", "logged at INFO"),
    ("INFO", "printed in pieces"),
]


@pytest.fixture
def cluster(redis_cluster):
    return redis_cluster


def run_and_read(cluster, backend, name: str) -> LaunchReport:
    task = make_task("print_probe", app_name="integration_tests.celery.probe", name=name)
    return wait_final(backend.add(task), cluster.output, 30)


def test_print_lands_in_the_report_on_the_prefork_pool(cluster):
    report = run_and_read(cluster, cluster.backend(), "prints on prefork")
    assert list(report.logs.order_by("line").values_list("level", "message")) == EXPECTED
    assert report.invocation_result == LaunchReport.RESULT_WARNINGS  # the one stderr line


def test_print_lands_in_the_report_on_the_threads_pool(cluster):
    queue = f"{settings.QUEUE}-print-threads"
    purge(cluster.broker_url, queue)
    worker = cluster.start_worker(pool="threads", queue=queue, label="print-threads")
    try:
        report = run_and_read(cluster, cluster.backend(queue), "prints on threads")
        assert "printed to stdout" not in worker.output
    finally:
        cluster.stop_process("print-threads")
    assert list(report.logs.order_by("line").values_list("level", "message")) == EXPECTED
