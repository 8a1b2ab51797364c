"""A queue per task, end to end: a run of a task on "heavy" goes to the worker started with
``-Q heavy`` only, whether started now or fired by the beat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from eztaskmanager.models import LaunchReport
from eztaskmanager.services.queues import get_task_service
from integration_tests.celery.conftest import purge
from integration_tests.celery.scenarios import LIVE, finished_reports
from testsupport.tasks import make_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HEAVY = f"{settings.QUEUE}-heavy"


@pytest.fixture
def heavy_worker(redis_cluster):
    """A second worker, listening on the heavy queue alone (``celery worker -Q``)."""
    purge(redis_cluster.broker_url, HEAVY)
    worker = redis_cluster.start_worker(queue=HEAVY, label="heavy")
    try:
        yield worker
    finally:
        redis_cluster.stop_process("heavy")


def test_runs_of_a_task_on_a_queue_go_to_that_queues_worker(redis_cluster, heavy_worker):
    cluster = redis_cluster
    now_task = make_task(LIVE, "--limit=1,--sleep=0", name="heavy now", queue=HEAVY)
    later_task = make_task(
        LIVE,
        "--limit=1,--sleep=0",
        name="heavy later",
        queue=HEAVY,
        scheduling=timezone.now() + timedelta(seconds=1),
    )
    light_task = make_task(LIVE, "--limit=1,--sleep=0", name="light now")
    backend = get_task_service()
    for task in (now_task, later_task, light_task):
        backend.add(task)  # the beat fires the scheduled one
    for task in (now_task, later_task, light_task):
        cluster.wait_for(lambda t=task: finished_reports(t), 30, f"a run of {task.name}")
    workers = {
        task.name: task.launchreport_set.get().worker for task in (now_task, later_task, light_task)
    }
    assert workers["heavy now"].startswith("eztm-redis-heavy@"), workers
    assert workers["heavy later"].startswith("eztm-redis-heavy@"), workers
    assert workers["light now"].startswith("eztm-redis-worker@"), workers
    assert set(
        LaunchReport.objects.filter(task__queue=HEAVY).values_list("invocation_result", flat=True)
    ) == {LaunchReport.RESULT_OK}
