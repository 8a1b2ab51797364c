"""A worker's database session from run to run, as the Celery how-to advises to set it up.

Celery's Django fixup closes every database connection before and after every task,
whatever ``CONN_MAX_AGE`` says, unless ``CELERY_DB_REUSE_MAX`` is set: only with both
does a worker keep its session (and save opening one per run). The probe prints the
session it runs on (PostgreSQL's server pid and the session's start).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from eztaskmanager.models import LaunchReport
from eztaskmanager.services.queues import get_task_service
from integration_tests.celery.conftest import purge
from testsupport.tasks import make_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = f"{settings.QUEUE}-sessions"


@pytest.fixture
def start_worker(redis_cluster):
    """Start a worker on this file's queue with ``env``; stopped after the test."""
    if connection.vendor != "postgresql":
        pytest.skip("the probe reads PostgreSQL's sessions")
    purge(redis_cluster.broker_url, QUEUE)

    def start(**env: str) -> None:
        redis_cluster.start_worker(queue=QUEUE, label="sessions", env=env)

    yield start
    redis_cluster.stop_process("sessions")


def sessions_of_two_runs(cluster) -> list[tuple[str, str]]:
    """Run the probe twice, one after the other; each run's session (server pid, start)."""
    sessions = []
    for i in range(2):
        task = make_task(
            "session_probe", app_name="integration_tests.rq.probe", name=f"probe {i}", queue=QUEUE
        )
        queued = get_task_service().add(task)
        report = cluster.wait_for(
            lambda pk=queued.pk: LaunchReport.objects.filter(
                pk=pk, finished_at__isnull=False
            ).first(),
            30,
            f"probe run {i}",
        )
        assert report.invocation_result == LaunchReport.RESULT_OK, report.reason
        _, pid, _, started = report.logs.get().message.split()
        sessions.append((pid, started))
    return sessions


def test_conn_max_age_alone_opens_a_session_per_run(redis_cluster, start_worker):
    start_worker(EZTASKMANAGER_TEST_CONN_MAX_AGE="60")
    first, second = sessions_of_two_runs(redis_cluster)
    assert first != second


def test_with_db_reuse_max_the_runs_share_one_session(redis_cluster, start_worker):
    start_worker(EZTASKMANAGER_TEST_CONN_MAX_AGE="60", EZTASKMANAGER_TEST_DB_REUSE_MAX="100")
    first, second = sessions_of_two_runs(redis_cluster)
    assert first == second
