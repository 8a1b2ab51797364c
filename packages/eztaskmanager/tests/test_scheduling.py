from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from eztaskmanager import scheduling
from eztaskmanager.scheduling import add_months, next_run_after, period_seconds
from testsupport.clock import FastTimeLine, fast_schedules

UTC = timezone.utc
ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def test_before_start_returns_start():
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert next_run_after(start, "hour", 1, start - timedelta(days=3)) == start


def test_strictly_after():
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert next_run_after(start, "minute", 15, start) == start + timedelta(minutes=15)
    assert next_run_after(start, "minute", 15, start + timedelta(minutes=14, seconds=59)) == (
        start + timedelta(minutes=15)
    )


@pytest.mark.parametrize(
    ("period", "rate", "after", "expected"),
    [
        ("minute", 1, datetime(2026, 5, 1, 9, 0, 30), datetime(2026, 5, 1, 9, 1)),
        ("hour", 6, datetime(2026, 5, 1, 15, 0), datetime(2026, 5, 1, 21, 0)),
        ("day", 2, datetime(2026, 5, 2, 9, 0), datetime(2026, 5, 3, 9, 0)),
        ("week", 1, datetime(2026, 5, 1, 9, 0), datetime(2026, 5, 8, 9, 0)),
        ("week", 2, datetime(2026, 5, 9, 0, 0), datetime(2026, 5, 15, 9, 0)),
        ("month", 1, datetime(2026, 5, 1, 9, 0), datetime(2026, 6, 1, 9, 0)),
        ("month", 3, datetime(2026, 6, 1, 0, 0), datetime(2026, 8, 1, 9, 0)),
    ],
)
def test_periods(period, rate, after, expected):
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert next_run_after(start, period, rate, after.replace(tzinfo=UTC)) == expected.replace(
        tzinfo=UTC
    )


def test_month_end_is_clamped_and_day_kept():
    start = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    runs, after = [], start
    for _ in range(4):
        after = next_run_after(start, "month", 1, after)
        runs.append(after.date().isoformat())
    assert runs == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]


def test_leap_year_february():
    start = datetime(2027, 11, 30, tzinfo=UTC)
    assert next_run_after(start, "month", 3, start).date().isoformat() == "2028-02-29"


def test_daily_keeps_wall_clock_across_dst():
    # Rome moves to summer time on 29 March 2026 at 02:00.
    start = datetime(2026, 3, 27, 9, 0, tzinfo=ROME)
    after = datetime(2026, 3, 29, 9, 30, tzinfo=ROME)
    nxt = next_run_after(start, "day", 1, after)
    assert (nxt.hour, nxt.minute, nxt.date().isoformat()) == (9, 0, "2026-03-30")
    first = next_run_after(start, "day", 1, start)
    assert nxt.astimezone(UTC) - first.astimezone(UTC) == timedelta(days=2, hours=-1)


def test_weekly_across_autumn_dst():
    start = datetime(2026, 10, 28, 18, 0, tzinfo=NEW_YORK)  # clocks go back on 1 November
    nxt = next_run_after(start, "week", 1, start)
    assert (nxt.hour, nxt.utcoffset()) == (18, timedelta(hours=-5))
    assert start.utcoffset() == timedelta(hours=-4)


def test_hourly_is_absolute_time_across_dst():
    start = datetime(2026, 3, 29, 0, 0, tzinfo=ROME)
    begin = start.astimezone(UTC)
    runs = [next_run_after(start, "hour", 1, begin + timedelta(hours=h)) for h in range(3)]
    assert [r.astimezone(UTC).hour for r in runs] == [0, 1, 2]
    assert [r.hour for r in runs] == [1, 3, 4]  # 02:00 local does not exist that night


def test_nonexistent_wall_time_is_moved_forward():
    start = datetime(2026, 3, 28, 2, 30, tzinfo=ROME)
    nxt = next_run_after(start, "day", 1, start)
    assert nxt.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_far_future_is_exact():
    start = datetime(2020, 1, 1, tzinfo=UTC)
    after = datetime(2026, 7, 4, 12, 34, 56, tzinfo=UTC)
    assert next_run_after(start, "minute", 7, after) - after <= timedelta(minutes=7)
    assert (next_run_after(start, "minute", 7, after) - start) % timedelta(minutes=7) == timedelta(
        0
    )


def test_invalid_input():
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        next_run_after(datetime(2026, 1, 1), "day", 1, aware)
    with pytest.raises(ValueError, match="positive"):
        next_run_after(aware, "day", 0, aware)
    with pytest.raises(ValueError, match="unknown repetition period"):
        next_run_after(aware, "year", 1, aware)


def test_period_seconds_and_add_months():
    assert period_seconds("week", 2) == 14 * 86400
    assert period_seconds("month", 1) is None
    assert add_months(datetime(2026, 12, 31), 2).date().isoformat() == "2027-02-28"


def test_the_time_line_is_real_time():
    assert type(scheduling.timeline) is scheduling.RealTime


def test_a_fast_time_line_runs_the_same_rules_faster():
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with fast_schedules(speed=30):
        assert next_run_after(start, "minute", 1, start) == start + timedelta(seconds=2)
        assert next_run_after(start, "minute", 1, start + timedelta(seconds=2.5)) == (
            start + timedelta(seconds=4)
        )
        assert next_run_after(start, "hour", 1, start - timedelta(days=1)) == start
    assert next_run_after(start, "minute", 1, start) == start + timedelta(minutes=1)


def test_a_fast_time_line_keeps_the_wall_clock_and_month_rules():
    speed = 3600  # an hour of the schedule per real second
    start = datetime(2026, 3, 27, 9, 0, tzinfo=ROME)  # summer time from 29 March, 02:00
    with fast_schedules(speed) as fast:
        first = next_run_after(start, "day", 1, start)
        second = next_run_after(start, "day", 1, first)
    # On the schedule's own time line the runs are the real rules' (09:00 each day).
    assert fast.to_schedule(start, first) == datetime(2026, 3, 28, 9, 0, tzinfo=ROME)
    assert fast.to_schedule(start, second) == datetime(2026, 3, 29, 9, 0, tzinfo=ROME)
    assert second - first == timedelta(hours=23) / speed  # the day that lost an hour
    monthly = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    with fast_schedules(speed):
        due = next_run_after(monthly, "month", 1, monthly)
    assert FastTimeLine(speed).to_schedule(monthly, due).date().isoformat() == "2026-02-28"


def test_a_fast_time_line_needs_a_whole_speed():
    with pytest.raises(ValueError, match="whole number"):
        FastTimeLine(0)
