"""A periodic run that comes due while the last one still runs is skipped, and says so on the
run going on (two workers: with one, the due run would wait in the queue instead)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from testsupport.processes import ManagedProcess
from testsupport.tasks import make_task

from .cluster import WORKER_CLASS
from .conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_worker(cluster, rq_env, rq_queue):
    worker = ManagedProcess.manage(
        "rqworker",
        rq_queue,
        "--worker-class",
        WORKER_CLASS,
        "--name",
        f"eztm-second-{uuid.uuid4().hex[:8]}",
        env=rq_env,
    )
    try:
        worker.wait_for_output("Listening on", timeout=60)
        yield worker
    finally:
        worker.stop()


def test_a_periodic_run_skipped_while_the_last_one_runs_says_so_on_it(cluster, second_worker):
    backend = get_backend()
    # Due every 2 s on the test clock; each run lasts 5 s.
    task = make_task(
        "test_livelogging_command",
        "--limit=1, --sleep=5",
        name="slow periodic",
        scheduling=timezone.now() + timedelta(seconds=1),
        repetition_period=Task.REPETITION_PERIOD_MINUTE,
        repetition_rate=1,
    )
    backend.add(task)
    first = wait_for(
        lambda: LaunchReport.objects.filter(task=task).exclude(finished_at=None).first(),
        30,
        "the first run",
        cluster,
    )
    backend.stop_task(Task.objects.get(pk=task.pk))
    lines = [line.split(" - ", 2)[2] for line in first.get_log_lines()]
    skipped = [line for line in lines if "was skipped: this run was still going on" in line]
    assert skipped and skipped[0].startswith("A scheduled run (job "), lines
    # Skipped, not run: no two runs of the task at once.
    runs = LaunchReport.objects.filter(task=task).order_by("invocation_datetime")
    for earlier, later in pairwise(runs):
        assert earlier.finished_at is None or later.invocation_datetime >= earlier.finished_at
