import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from eztaskmanager.models import LaunchReport, write_log_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(task):
    report = LaunchReport.objects.create(task=task("test_livelogging_command"))
    now = time.time()
    levels = ["INFO", "DEBUG", "WARNING", "ERROR", "CRITICAL"]
    write_log_rows(report.pk, [(now, levels[i % 5], f"message {i}") for i in range(25)])
    report.refresh_from_db()
    return report


def test_counters_are_kept_on_the_report(report):
    assert (report.n_log_lines, report.n_log_errors, report.n_log_warnings) == (25, 10, 5)


def test_read_log_lines_by_offset(report):
    lines, total = report.read_log_lines(0)
    assert total == 25 and len(lines) == 25
    assert lines[0].endswith(" - INFO - message 0")
    lines, total = report.read_log_lines(24)
    assert [line.rsplit(" - ", 1)[1] for line in lines] == ["message 24"]
    lines, total = report.read_log_lines(10, limit=3)
    assert [line.rsplit(" - ", 1)[1] for line in lines] == [
        "message 10",
        "message 11",
        "message 12",
    ]
    assert report.read_log_lines(25) == ([], 25)


def test_log_tail(report):
    assert [line.rsplit(" - ", 1)[1] for line in report.log_tail(3)] == [
        "message 22",
        "message 23",
        "message 24",
    ]
    assert len(report.log_tail(100)) == 25
    assert len(report.get_log_lines()) == 25


def test_appended_lines_continue_the_numbering(report):
    report.append_log("WARNING", "Stopped by admin.")
    report.refresh_from_db()
    assert report.n_log_lines == 26
    assert report.logs.get(line=25).message == "Stopped by admin."


def test_finish_happens_once(report):
    assert report.is_running and report.duration is None
    assert report.finish("stopped")
    assert not report.finish("ok")
    report.refresh_from_db()
    assert report.invocation_result == "stopped" and report.duration is not None


def test_deleting_a_report_refreshes_the_task_cache(report):
    task = report.task
    older = LaunchReport.objects.create(
        task=task, invocation_datetime=report.invocation_datetime - timedelta(hours=1)
    )
    older.finish("warnings")
    report.finish("errors")
    task.compute_cache()
    assert task.cached_last_invocation_result == "errors"
    report.delete()
    task.refresh_from_db()
    assert task.cached_last_invocation_result == "warnings"
    assert task.cached_last_report_id == older.pk
    older.delete()
    task.refresh_from_db()
    assert (task.cached_last_invocation_result, task.cached_last_report_id) == ("", None)


def test_periodic_properties(task):
    t = task("test_livelogging_command")
    assert not t.is_periodic and t.interval_in_seconds is None
    t.repetition_period, t.repetition_rate = "day", 2
    assert t.is_periodic and t.interval_in_seconds == 2 * 24 * 60 * 60
    t.repetition_period = "month"
    assert t.interval_in_seconds is None
    t.scheduling = datetime(2026, 1, 31, 10, 0, tzinfo=dt_timezone(timedelta(hours=1)))
    assert t.scheduling_utc == datetime(2026, 1, 31, 9, 0, tzinfo=dt_timezone.utc)
    after = datetime(2026, 2, 1, tzinfo=dt_timezone.utc)
    assert t.next_run_after(after).date().isoformat() == "2026-03-31"


def test_one_off_next_run(task):
    t = task("test_livelogging_command")
    assert t.next_run_after() is None
    t.scheduling = timezone.now() + timedelta(minutes=5)
    assert t.is_scheduled_later() and t.next_run_after() == t.scheduling
    t.scheduling = timezone.now() - timedelta(minutes=5)
    assert not t.is_scheduled_later() and t.next_run_after() is None
