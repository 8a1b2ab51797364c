"""The next run of a chain: the core's calendar rules, or a fixed number of seconds."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from eztaskmanager.models import Task
from eztaskmanager_rq.occurrences import following, occurrence_meta, scheduled_at

ROME = ZoneInfo("Europe/Rome")
UTC = ZoneInfo("UTC")


def periodic(period: str, rate: int, start: datetime) -> Task:
    return Task(scheduling=start, repetition_period=period, repetition_rate=rate)


def meta_for(task: Task, at: datetime, every=None) -> dict:
    task.pk = 7
    return occurrence_meta(task, at, every)


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
    assert following(task, meta_for(task, after), after) == expected
    assert following(task, meta_for(task, after), after) == task.next_run_after(after)


def test_fixed_seconds_count_from_the_first_planned_run():
    task = Task()
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    meta = meta_for(task, at, every=2.0)
    assert scheduled_at(meta) == at
    assert following(task, meta, at) == at + timedelta(seconds=2)
    # A worker that took the job late skips the runs it missed, keeping the cadence.
    assert following(task, meta, at + timedelta(seconds=5.5)) == at + timedelta(seconds=6)


def test_one_off_has_no_following_run():
    task = Task(scheduling=datetime(2026, 5, 1, 12, tzinfo=UTC))
    at = task.scheduling
    assert following(task, meta_for(task, at), at + timedelta(seconds=1)) is None
