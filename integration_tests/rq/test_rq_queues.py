"""A queue per task, end to end: a run of a task on "heavy" goes to the ``rqworker heavy``
only, whether started now or moved to its queue by ``rqscheduler``."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.models import LaunchReport
from eztaskmanager.registry import get_backend
from testsupport.processes import ManagedProcess
from testsupport.tasks import make_task

from .cluster import WORKER_CLASS
from .conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def heavy(cluster, rq_queue, redis_url):
    """The heavy queue in the test process's settings too (the workers' settings have it)."""
    name = f"{rq_queue}-heavy"
    with override_settings(RQ_QUEUES={**settings.RQ_QUEUES, name: {"URL": redis_url}}):
        yield name


@pytest.fixture
def heavy_worker(cluster, rq_env, heavy):
    """A second ``rqworker``, listening on the heavy queue alone."""
    name = f"eztm-heavy-{uuid.uuid4().hex[:8]}"
    worker = ManagedProcess.manage(
        "rqworker", heavy, "--worker-class", WORKER_CLASS, "--name", name, env=rq_env
    )
    try:
        worker.wait_for_output("Listening on", timeout=60)
        yield name
    finally:
        worker.stop()


def test_runs_of_a_task_on_a_queue_go_to_that_queues_worker(cluster, heavy, heavy_worker):
    backend = get_backend()
    assert backend.queue_names() == [backend.queue_name, heavy]
    quick = "--limit=1, --sleep=0"
    now_task = make_task("test_livelogging_command", quick, name="heavy now", queue=heavy)
    later_task = make_task(
        "test_livelogging_command",
        quick,
        name="heavy later",
        queue=heavy,
        scheduling=timezone.now() + timedelta(seconds=1),
    )
    light_task = make_task("test_livelogging_command", quick, name="light now")
    for task in (now_task, later_task, light_task):
        backend.add(task)  # rqscheduler moves the scheduled one to its queue
    tasks = (now_task, later_task, light_task)
    wait_for(
        lambda: LaunchReport.objects.filter(task__in=tasks).exclude(finished_at=None).count() == 3,
        30,
        "a run of each task",
        cluster,
    )
    workers = {task.name: task.launchreport_set.get().worker for task in tasks}
    assert workers["heavy now"].startswith(f"{heavy_worker} (pid "), workers
    assert workers["heavy later"].startswith(f"{heavy_worker} (pid "), workers
    assert not workers["light now"].startswith(heavy_worker), workers
    results = LaunchReport.objects.filter(task__in=tasks).values_list(
        "invocation_result", flat=True
    )
    assert set(results) == {LaunchReport.RESULT_OK}


def test_a_run_that_waited_past_its_time_to_live_is_dropped_not_run_late(cluster, heavy, rq_env):
    """Queued on "heavy" while no worker listens there; the worker that comes later drops it."""
    backend = get_backend()
    task = make_task(
        "test_livelogging_command", "--limit=1, --sleep=0", name="short-lived", queue=heavy
    )
    task.queued_ttl = 1
    task.save()
    queued = backend.add(task)
    time.sleep(2)
    worker = ManagedProcess.manage(
        "rqworker", heavy, "--worker-class", WORKER_CLASS, "--name", "eztm-late", env=rq_env
    )
    try:
        report = wait_for(
            lambda: LaunchReport.objects.exclude(finished_at=None).filter(pk=queued.pk).first(),
            30,
            "the late run to be dropped",
            cluster,
        )
    finally:
        worker.stop()
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert report.reason.startswith("Not run: it waited ")
    assert report.reason.endswith("longer than its time to live (1 s).")
    assert report.heartbeat_at is None  # never started
    assert [line.split(" - ", 2)[2] for line in report.get_log_lines()] == [report.reason]
