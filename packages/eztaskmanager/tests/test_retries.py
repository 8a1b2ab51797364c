"""Retries of a failed run, each attempt its own report; a queued run's time to live."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager.services.recovery import reap

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
QUICK = "--limit=1,--sleep=0"


@pytest.fixture
def recording(settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    return get_backend()


def start_and_end(task, report, result):
    started = LaunchReport.objects.start_run(task.pk, report.job_id, worker="w")
    assert started is not None
    started.finish(result, "Worker lost: killed." if result == "failed" else "")
    return started


def test_a_failed_run_is_tried_again_later_each_time_longer(task, recording):
    t = task(LIVE, QUICK, retries=2, retry_delay=10, retry_backoff=3)
    first = recording.add(t)
    before = timezone.now()
    start_and_end(t, first, "failed")
    second = LaunchReport.objects.exclude(pk=first.pk).get(task=t)
    assert (second.state, second.attempt, second.first_attempt_id) == ("queued", 2, first.pk)
    assert timedelta(seconds=10) <= second.not_before - before < timedelta(seconds=12)
    assert recording.calls[-1] == ("enqueue_at", t.pk, second.job_id, second.not_before)
    assert second.get_log_lines()[0].endswith("Attempt 2 of 3, after attempt 1 failed.")
    assert Task.objects.get(pk=t.pk).status == "spooled"

    before = timezone.now()
    start_and_end(t, second, "failed")
    third = LaunchReport.objects.filter(task=t).order_by("pk").last()
    assert (third.attempt, third.first_attempt_id) == (3, first.pk)
    assert timedelta(seconds=30) <= third.not_before - before < timedelta(seconds=32)
    start_and_end(t, third, "failed")
    # Three attempts: no fourth.
    assert LaunchReport.objects.filter(task=t).count() == 3
    assert list(first.retries.order_by("attempt").values_list("attempt", flat=True)) == [2, 3]
    assert Task.objects.get(pk=t.pk).status == "idle"


@pytest.mark.parametrize("result", ["ok", "warnings", "errors", "stopped"])
def test_only_a_failure_is_tried_again(task, recording, result):
    t = task(LIVE, QUICK, retries=3)
    start_and_end(t, recording.add(t), result)
    assert LaunchReport.objects.filter(task=t).count() == 1


def test_no_retries_by_default(task, recording):
    t = task(LIVE, QUICK)
    start_and_end(t, recording.add(t), "failed")
    assert LaunchReport.objects.filter(task=t).count() == 1


def test_a_backend_that_cannot_run_later_says_so(task, caplog):
    t = task("test_failing_command", retries=1)
    with caplog.at_level(logging.WARNING):
        get_backend().add(t)  # the immediate backend runs it now, and cannot retry later
    assert LaunchReport.objects.get(task=t).invocation_result == "failed"
    assert "cannot run a retry later" in caplog.text


def test_a_queued_run_past_its_time_to_live_is_dropped_not_run_late(task, recording):
    t = task(LIVE, QUICK, queued_ttl=5, retries=2)
    late = recording.add(t)
    LaunchReport.objects.filter(pk=late.pk).update(queued_at=timezone.now() - timedelta(seconds=9))
    assert LaunchReport.objects.start_run(t.pk, late.job_id) is None
    late.refresh_from_db()
    assert (late.state, late.invocation_result) == ("finished", "failed")
    assert late.reason.startswith("Not run: it waited 9 s for a worker, longer than its time")
    assert late.get_log_lines()[-1].endswith("longer than its time to live (5 s).")
    # Dropped, not failed while running: no retry.
    assert LaunchReport.objects.filter(task=t).count() == 1
    # In time, it runs.
    assert LaunchReport.objects.start_run(t.pk, recording.add(t).job_id) is not None


def test_the_time_to_live_of_a_retry_counts_from_when_it_is_due(task, recording):
    t = task(LIVE, QUICK, queued_ttl=5, retries=1, retry_delay=60)
    start_and_end(t, recording.add(t), "failed")
    retry = LaunchReport.objects.filter(task=t, attempt=2).get()
    LaunchReport.objects.filter(pk=retry.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert reap(recording) == []  # due in a minute: not expired
    LaunchReport.objects.filter(pk=retry.pk).update(
        not_before=timezone.now() - timedelta(seconds=20)
    )
    [done] = reap(recording)  # a lookout ends it, with no worker to take it
    assert "longer than its time to live (5 s)" in done
    retry.refresh_from_db()
    assert (retry.state, retry.invocation_result) == ("finished", "failed")
