"""What must work on every broker: run now, a one-off schedule, stopping a running task."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_celery.timetable import run_job_id
from integration_tests.celery.faultlog import record, seconds_since, wait_final, wait_running
from testsupport.tasks import make_task

LIVE = "test_livelogging_command"
PROBE = "integration_tests.celery.probe"


def finished_reports(task: Task) -> list[LaunchReport]:
    """The task's finished runs, once the runner has also put the task back (not started)."""
    if Task.objects.filter(pk=task.pk, status=Task.STATUS_STARTED).exists():
        return []
    return list(task.launchreport_set.exclude(finished_at=None).order_by("invocation_datetime"))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
class CoreScenarios:
    """Test cases run by each broker's module, which gives the ``cluster`` fixture."""

    def test_run_now_ends_ok_with_its_log_lines(self, cluster):
        task = make_task(LIVE, "--limit=20,--sleep=0,--verbosity=3")
        get_task_service().add(task)
        (report,) = cluster.wait_for(lambda: finished_reports(task), 30, "the run to finish")
        assert report.invocation_result == LaunchReport.RESULT_OK
        assert report.n_log_lines == 24
        assert report.get_log_lines()[-1].endswith("Finished")
        task.refresh_from_db()
        assert report.job_id and task.status == Task.STATUS_IDLE
        assert (task.scheduled_job_id, task.cached_last_invocation_result) == ("", "ok")

    def test_run_now_with_other_arguments_runs_them_once(self, cluster):
        task = make_task(LIVE, "--limit=1,--sleep=0")
        queued = get_task_service().run_once(task, "--limit=3,--sleep=0,--warning-prob=1")
        (report,) = cluster.wait_for(lambda: finished_reports(task), 30, "the run to finish")
        assert report.pk == queued.pk
        assert (report.invocation_result, report.n_log_warnings) == (
            LaunchReport.RESULT_WARNINGS,
            3,
        )
        assert (report.arguments, report.custom_arguments) == (
            "--limit=3,--sleep=0,--warning-prob=1",
            True,
        )
        task.refresh_from_db()
        assert (task.arguments, task.status) == ("--limit=1,--sleep=0", Task.STATUS_IDLE)

    def test_a_chain_runs_its_follower_after_any_result(self, cluster):
        first = make_task("test_failing_command", name="first")
        then = make_task(LIVE, "--limit=1,--sleep=0", follows=first, follows_on="any")
        skipped = make_task(LIVE, "--limit=1,--sleep=0", follows=first)  # on OK only
        get_task_service().add(first)
        (report,) = cluster.wait_for(lambda: finished_reports(then), 30, "the follower")
        assert report.invocation_result == LaunchReport.RESULT_OK
        assert report.get_log_lines()[0].endswith("Started after first ended: FAILED.")
        assert finished_reports(first)[0].invocation_result == LaunchReport.RESULT_FAILED
        assert not skipped.launchreport_set.exists()

    def test_a_failed_run_is_tried_again_as_its_own_report(self, cluster):
        task = make_task("test_failing_command", retries=1, retry_delay=1, name="failing")
        first = get_task_service().add(task)
        reports = cluster.wait_for(
            lambda: len(finished_reports(task)) == 2 and finished_reports(task), 30, "2 runs"
        )
        retry = next(r for r in reports if r.pk != first.pk)
        assert [r.invocation_result for r in reports] == ["failed", "failed"]
        assert (retry.attempt, retry.first_attempt_id) == (2, first.pk)
        assert retry.invocation_datetime >= retry.not_before
        assert retry.get_log_lines()[0].endswith("Attempt 2 of 2, after attempt 1 failed.")

    def test_progress_is_stored_while_the_run_goes_on_and_at_its_end(self, cluster):
        task = make_task(LIVE, "--limit=30,--sleep=0.1")  # 3 s, reporting each iteration
        get_task_service().add(task)

        def bars_midway():
            report = LaunchReport.objects.filter(task=task, state="running").first()
            bars = report.progress.get("bars") if report else None
            return bars if bars and 0 < bars[0]["current"] < 30 else None

        (bar,) = cluster.wait_for(bars_midway, 30, "progress while it runs")
        assert (bar["group"], bar["total"]) == (["Iterations"], 30)
        (report,) = cluster.wait_for(lambda: finished_reports(task), 30, "the run to finish")
        assert report.progress["bars"][0]["current"] == 30

    def test_one_off_in_three_seconds_runs_exactly_once(self, cluster):
        at = timezone.now() + timedelta(seconds=3)
        task = make_task(LIVE, "--limit=2,--sleep=0", scheduling=at)
        get_task_service().add(task)
        task.refresh_from_db()
        assert (task.status, task.cached_next_ride) == (Task.STATUS_SCHEDULED, at)
        (report,) = cluster.wait_for(lambda: finished_reports(task), 20, "the one-off run")
        assert report.invocation_datetime >= at
        assert report.job_id == run_job_id(task.pk, at)
        time.sleep(2)  # a second run would show up by now (the beat ticks every second)
        assert task.launchreport_set.count() == 1
        task.refresh_from_db()
        assert (task.status, task.scheduled_job_id, task.cached_next_ride) == (
            Task.STATUS_IDLE,
            "",
            None,
        )

    def test_stop_on_a_running_task_stops_it(self, cluster):
        """The run stops itself (its helper thread interrupts the command): no kill needed."""
        task = make_task(LIVE, "--limit=1000,--sleep=0.1,--trace-steps=1")
        seen = len(cluster.worker.output)
        report = wait_running(get_task_service().add(task), cluster.output)
        started, stopped_at = time.monotonic(), timezone.now()
        get_task_service().stop_task(Task.objects.get(pk=task.pk), by="the tests")
        report.refresh_from_db()
        assert report.invocation_result == LaunchReport.RESULT_STOPPED, (
            report.finished_at,
            report.invocation_result,
            report.get_log_lines()[-3:],
            Task.objects.get(pk=task.pk).status,
        )
        assert report.reason.startswith("Stopped after "), report.reason
        assert time.monotonic() - started < 5
        record(
            f"g. Stop on the prefork pool ({cluster.name})",
            seconds_since(report, stopped_at),
            report.reason,
        )
        lines = report.n_log_lines
        time.sleep(1.5)
        assert LaunchReport.objects.get(pk=report.pk).n_log_lines == lines < 100
        assert "Terminating" not in cluster.worker.output[seen:]
        assert Task.objects.get(pk=task.pk).status == Task.STATUS_IDLE

    def test_stop_on_a_command_that_ignores_it_kills_its_process(self, cluster):
        """A command the run cannot interrupt: the engine kills its pool process."""
        task = make_task("stubborn_command", app_name=PROBE, name="ignores the stop")
        report = wait_running(get_task_service().add(task), cluster.output)
        stopped_at = timezone.now()
        get_task_service().stop_task(Task.objects.get(pk=task.pk), by="the tests")
        report = wait_final(report, cluster.output, 15)
        elapsed = seconds_since(report, stopped_at)
        record(
            f"g. Stop on the prefork pool, command ignores it ({cluster.name})",
            elapsed,
            report.reason,
        )
        assert report.invocation_result == LaunchReport.RESULT_STOPPED
        # The worker's task_revoked, or a reaper that ticked first and saw the pid gone
        # (it says "Stopped" for a run that was asked to stop).
        reaped = report.reason.startswith(("Stopped: its process ", "Worker lost: its process "))
        assert reaped or report.reason == "Stopped: the worker killed its process (signal 9).", (
            report.reason
        )
        assert elapsed < 10
        cluster.worker.wait_for_output(f"Terminating {report.job_id}", timeout=10)
        lines = LaunchReport.objects.get(pk=report.pk).n_log_lines
        time.sleep(1.5)
        assert LaunchReport.objects.get(pk=report.pk).n_log_lines == lines
        assert Task.objects.get(pk=task.pk).status == Task.STATUS_IDLE
        # The worker replaced its pool process and goes on serving.
        after = make_task(LIVE, "--limit=1,--sleep=0", name="after the stop")
        get_task_service().add(after)
        (done,) = cluster.wait_for(lambda: finished_reports(after), 30, "a run after the stop")
        assert done.invocation_result == LaunchReport.RESULT_OK
