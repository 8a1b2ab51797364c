"""The core scenarios again with RabbitMQ as broker (Redis keeps the results).

RabbitMQ cannot be started by the tests, so this module is skipped, with the reason in
the summary, when it does not answer at 127.0.0.1:5672 (guest/guest).
"""

from __future__ import annotations

import os

import pytest
from kombu import Connection

from integration_tests.celery.conftest import running_cluster
from integration_tests.celery.scenarios import CoreScenarios

RABBITMQ_URL = os.environ.get("EZTM_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_problem() -> str | None:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def cluster(django_db_setup, redis_url):
    problem = rabbitmq_problem()
    if problem:
        pytest.skip(
            f"RabbitMQ is not reachable at {RABBITMQ_URL} ({problem}); its runs were skipped"
        )
    with running_cluster("rabbitmq", RABBITMQ_URL, redis_url) as started:
        yield started


class TestRabbitMQ(CoreScenarios):
    pass
