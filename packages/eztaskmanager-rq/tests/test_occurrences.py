"""The next run of a chain: the core's calendar rules, also under the test clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from eztaskmanager.models import Task
from eztaskmanager_rq.occurrences import following, occurrence_meta, scheduled_at
from testsupport.clock import fast_schedules

ROME = ZoneInfo("Europe/Rome")
UTC = ZoneInfo("UTC")


def periodic(period: str, rate: int, start: datetime) -> Task:
    return Task(scheduling=start, repetition_period=period, repetition_rate=rate)


@pytest.mark.parametrize(
    ("start", "period", "after", "expected"),
    [
        # A daily 09:00 run stays at 09:00 local time across the spring DST change.
        (
            datetime(2026, 3, 27, 9, tzinfo=ROME),
            "day",
            datetime(2026, 3, 28, 9, tzinfo=ROME),
            datetime(2026, 3, 29, 9, tzinfo=ROME),
        ),
        # Monthly on the 31st: clamped to the end of shorter months, back to the 31st after.
        (
            datetime(2026, 1, 31, 9, tzinfo=ROME),
            "month",
            datetime(2026, 1, 31, 9, tzinfo=ROME),
            datetime(2026, 2, 28, 9, tzinfo=ROME),
        ),
        (
            datetime(2026, 1, 31, 9, tzinfo=ROME),
            "month",
            datetime(2026, 2, 28, 9, tzinfo=ROME),
            datetime(2026, 3, 31, 9, tzinfo=ROME),
        ),
        # Hours are absolute: 3-hourly runs keep 3 h of real time across the change.
        (
            datetime(2026, 3, 29, 0, tzinfo=ROME),
            "hour",
            datetime(2026, 3, 29, 0, tzinfo=ROME),
            datetime(2026, 3, 29, 4, tzinfo=ROME),
        ),
    ],
)
def test_calendar_periods_follow_the_core_rules(start, period, after, expected):
    rate = 3 if period == "hour" else 1
    task = periodic(period, rate, start)
    assert following(task, after) == expected
    assert following(task, after) == task.next_run_after(after)


def test_under_the_test_clock_the_same_rules_run_in_seconds():
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    task = periodic("minute", 1, at)
    with fast_schedules(speed=30):  # a minute lasts 2 s
        assert following(task, at) == at + timedelta(seconds=2)
        # A worker that took the job late skips the runs it missed, keeping the cadence.
        assert following(task, at + timedelta(seconds=5.5)) == at + timedelta(seconds=6)


def test_the_due_time_travels_in_the_jobs_meta():
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    task = Task(pk=7, scheduling=at)
    assert scheduled_at(occurrence_meta(task, at)) == at
    assert scheduled_at({}) is None


def test_one_off_has_no_following_run():
    task = Task(scheduling=datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert following(task, task.scheduling + timedelta(seconds=1)) is None
