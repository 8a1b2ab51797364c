"""The Celery backend end to end with Redis as broker and result backend."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta

import pytest
from celery import Celery
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone

from eztaskmanager.models import FiredDueTime, Task
from eztaskmanager.origins import ADMIN, SCHEDULE, Origin
from eztaskmanager.services.queues import TaskQueueException, get_task_service
from eztaskmanager_celery import CeleryBackend
from eztaskmanager_celery.timetable import run_job_id
from integration_tests.celery.scenarios import LIVE, CoreScenarios, finished_reports
from testsupport.net import free_port, wait_for_port
from testsupport.redis import redis_server_binary
from testsupport.tasks import make_task

PERIOD = timedelta(seconds=2)  # one minute, on the settings' test clock


@pytest.fixture
def cluster(redis_cluster):
    return redis_cluster


class TestRedis(CoreScenarios):
    def test_stop_on_a_scheduled_task_means_no_run(self, cluster):
        at = timezone.now() + timedelta(seconds=3)
        task = make_task(LIVE, "--limit=1,--sleep=0", scheduling=at)
        get_task_service().add(task)
        get_task_service().stop_task(Task.objects.get(pk=task.pk))
        time.sleep((at - timezone.now()).total_seconds() + 2.5)
        assert task.launchreport_set.count() == 0
        task.refresh_from_db()
        assert (task.status, task.scheduled_job_id) == (Task.STATUS_IDLE, "")
        assert (
            "Sending" not in cluster.beat.output and f"task {task.pk} " not in cluster.beat.output
        )

    def test_a_cron_schedule_runs_again_and_again_until_stopped(self, cluster):
        # Every minute: every 2 s on the test clock of the beat and of this process.
        task = make_task(LIVE, "--limit=1,--sleep=0", cron="* * * * *")
        get_task_service().add(task)
        task.refresh_from_db()
        assert task.status == Task.STATUS_SCHEDULED
        cluster.wait_for(lambda: len(finished_reports(task)) >= 2, 20, "two cron runs")
        get_task_service().stop_task(Task.objects.get(pk=task.pk))
        task.refresh_from_db()
        assert (task.status, task.scheduled_job_id) == (Task.STATUS_IDLE, "")

    def test_periodic_runs_again_and_again_and_a_beat_restart_adds_no_run(self, cluster):
        start = timezone.now() + timedelta(seconds=1)
        task = make_task(
            LIVE,
            "--limit=1,--sleep=0",
            scheduling=start,
            repetition_period="minute",
            repetition_rate=1,
        )
        get_task_service().add(task)
        task.refresh_from_db()
        assert (task.status, task.cached_next_ride) == (Task.STATUS_SCHEDULED, start)
        cluster.wait_for(lambda: len(finished_reports(task)) >= 2, 15, "two periodic runs")
        # Restart the beat right after a run was sent: it must not send that one again.
        cluster.restart_beat()
        cluster.wait_for(lambda: len(finished_reports(task)) >= 5, 20, "runs after the restart")
        get_task_service().stop_task(Task.objects.get(pk=task.pk))
        time.sleep(1)  # a run sent just before the stop ends
        runs = finished_reports(task)
        time.sleep(2.5)
        assert len(finished_reports(task)) == len(runs)
        job_ids = [report.job_id for report in runs]
        assert len(set(job_ids)) == len(job_ids), job_ids
        dues = [start + k * PERIOD for k in range(40)]
        assert set(job_ids) <= {run_job_id(task.pk, due) for due in dues}, job_ids
        assert all(report.invocation_result == "ok" for report in runs)
        fired = FiredDueTime.objects.filter(task=task).values_list("due_at", flat=True)
        assert set(job_ids) <= {run_job_id(task.pk, due) for due in fired}
        task.refresh_from_db()
        assert (task.status, task.scheduled_job_id) == (Task.STATUS_IDLE, "")

    def test_a_schedule_runs_for_who_armed_it_and_ends_when_they_lose_the_right(self, cluster):
        ops = Group.objects.create(name="ops")
        bob = User.objects.create_user("bob", is_staff=True)
        bob.user_permissions.add(Permission.objects.get(codename="run_task"))
        bob.groups.add(ops)
        bob = User.objects.get(pk=bob.pk)  # no cached permissions
        task = make_task(LIVE, "--limit=1,--sleep=0", cron="* * * * *")  # every 2 s here
        task.command.allowed_groups.add(ops)
        get_task_service().add(task, by=Origin(ADMIN, bob))
        (first, *_) = cluster.wait_for(lambda: finished_reports(task), 20, "a scheduled run")
        assert (first.invocation_result, first.origin, first.started_by_id) == (
            "ok",
            SCHEDULE,
            bob.pk,
        )
        bob.groups.remove(ops)

        def refused():
            return [r for r in finished_reports(task) if r.invocation_result == "failed"]

        (refused_run, *_) = cluster.wait_for(refused, 20, "a run refused")
        assert refused_run.reason == (
            "Not run: bob, on whose behalf it runs, may no longer run this task."
        )
        assert refused_run.heartbeat_at is None  # the command never started
        task.refresh_from_db()
        assert (task.status, task.scheduled_job_id) == (Task.STATUS_IDLE, "")
        count = len(finished_reports(task))
        time.sleep(5)  # two more due times
        assert len(finished_reports(task)) == count

    def test_broker_down_gives_a_clear_error_and_leaves_the_task_unchanged(self, cluster):
        port = free_port()
        server = subprocess.Popen(
            [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, process=server)
            broker = Celery("down", broker=f"redis://127.0.0.1:{port}/0")
            backend = CeleryBackend(app=broker, queue="nobody-listens", connect_timeout=2)
            backend.add(make_task(LIVE, name="while the broker is up"))
        finally:
            server.terminate()
            server.wait(10)
        task = make_task(LIVE, name="while the broker is down")
        started = time.monotonic()
        with pytest.raises(
            TaskQueueException,
            match=f"Cannot reach the Celery broker at redis://127.0.0.1:{port}/0",
        ):
            backend.add(task)
        assert time.monotonic() - started < 5
        task.refresh_from_db()
        assert (task.status, task.scheduled_job_id, task.launchreport_set.count()) == (
            Task.STATUS_IDLE,
            "",
            0,
        )
