"""When does a periodic task run next? Pure functions that backends and the admin share.

A task scheduled at ``start`` with period ``P`` and rate ``N`` runs at ``start``,
``start + N*P``, ``start + 2*N*P``... Minutes and hours are fixed lengths of absolute
time. Days, weeks and months follow the wall clock of the time zone ``start`` is given in,
so a daily 09:00 run stays at 09:00 across daylight saving changes, and a monthly run
keeps its day of the month, clamped to the month's length (31 Jan, 28 Feb, 31 Mar...).
A run that would fall after the last instant Python's dates hold (the year 9999) does
not exist: the schedule simply has no next run. A task may instead follow a cron
expression (:func:`next_cron_run_after`, with croniter), read on the same wall clock.

The rules run on a *time line*, :data:`timeline`: real time, unless a test clock
(``testsupport/clock.py`` in this repository) replaces it for the life of a test
process, so that a schedule's minute lasts seconds while the rules stay the real ones.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

from croniter import CroniterError, croniter

MINUTE, HOUR, DAY, WEEK, MONTH = "minute", "hour", "day", "week", "month"
PERIODS = (MINUTE, HOUR, DAY, WEEK, MONTH)
FIXED_SECONDS = {MINUTE: 60, HOUR: 3600, DAY: 86400, WEEK: 7 * 86400}


class RealTime:
    """The time line of schedules: real time, where a minute lasts a minute."""

    def to_schedule(self, start: datetime, moment: datetime) -> datetime:
        """``moment`` on the time line of a schedule that starts at ``start``."""
        return moment

    def from_schedule(self, start: datetime, moment: datetime) -> datetime:
        """The real instant of ``moment`` on that time line."""
        return moment


# The one seam for tests: nothing in the packages changes it.
timeline: RealTime = RealTime()


def period_seconds(period: str, rate: int) -> int | None:
    """Return the nominal length of ``rate`` periods in seconds; ``None`` for months."""
    if period not in PERIODS:
        raise ValueError(f"unknown repetition period {period!r}; expected one of {PERIODS}")
    if period == MONTH:
        return None
    return FIXED_SECONDS[period] * rate


def add_months(moment: datetime, months: int, day: int | None = None) -> datetime:
    """Add calendar months to a wall-clock time, keeping ``day`` (or its own) clamped."""
    day = day or moment.day
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(day, last_day))


def occurrence(start: datetime, period: str, rate: int, k: int) -> datetime:
    """Return the ``k``-th run (``k=0`` is ``start``) as an aware datetime."""
    if period in (MINUTE, HOUR):
        delta = timedelta(seconds=FIXED_SECONDS[period] * rate * k)
        return (start.astimezone(timezone.utc) + delta).astimezone(start.tzinfo)
    if period in (DAY, WEEK):
        wall = start + timedelta(days=(7 if period == WEEK else 1) * rate * k)
    else:
        wall = add_months(start, rate * k, day=start.day)
    return _normalize(wall)


def _normalize(wall: datetime) -> datetime:
    """Resolve a wall-clock time that a DST change skipped or repeated into a real instant."""
    return wall.astimezone(timezone.utc).astimezone(wall.tzinfo)


def next_run_after(start: datetime, period: str, rate: int, after: datetime) -> datetime | None:
    """Return the first run strictly after ``after`` of a schedule starting at ``start``.

    ``start`` and ``after`` must be aware; the result is in ``start``'s time zone, or
    ``None`` when that run would fall beyond the year 9999.
    """
    if start.tzinfo is None or after.tzinfo is None:
        raise ValueError("next_run_after() needs aware datetimes")
    if rate is None or rate < 1:
        raise ValueError(f"repetition rate must be a positive integer, got {rate!r}")
    seconds = period_seconds(period, rate)
    if start > after:
        return start
    try:
        due = _first_after(start, period, rate, timeline.to_schedule(start, after), seconds)
        return timeline.from_schedule(start, due)
    except (OverflowError, ValueError):  # "date value out of range", "year 10353 is out of range"
        return None


def _first_after(
    start: datetime, period: str, rate: int, after: datetime, seconds: int | None
) -> datetime:
    if seconds is not None:
        # A first guess from the nominal length, then step to the exact occurrence.
        k = max(int((after - start).total_seconds() // seconds), 0)
    else:
        months = (after.year - start.year) * 12 + after.month - start.month
        k = max(months // rate - 1, 0)
    while occurrence(start, period, rate, k) <= after:
        k += 1
    while k > 0 and occurrence(start, period, rate, k - 1) > after:
        k -= 1
    return occurrence(start, period, rate, k)


# Cron expressions --------------------------------------------------------------------------
# Five fields: minute, hour, day of month, month, day of week, on the wall clock of a zone.
CRON_FIELDS = 5


def cron_error(expression: str) -> str:
    """croniter's words on why ``expression`` is not a cron expression; empty when it is one.

    The caller checks that it has :data:`CRON_FIELDS` fields (croniter also takes six or
    seven, with seconds and years).
    """
    try:
        croniter(expression)
    except (CroniterError, ValueError) as exc:
        return str(exc)
    return ""


def next_cron_run_after(expression: str, start: datetime, after: datetime) -> datetime | None:
    """The first instant strictly after ``after``, not before ``start``, that ``expression``
    names on the wall clock of ``start``'s time zone; ``None`` beyond the year 9999.

    A time that a daylight-saving change skips runs at the first instant after the gap;
    one that it repeats runs once, the first time.
    """
    if start.tzinfo is None or after.tzinfo is None:
        raise ValueError("next_cron_run_after() needs aware datetimes")
    if start > after:
        after = start - timedelta(microseconds=1)
    try:
        moment = timeline.to_schedule(start, after).astimezone(start.tzinfo)
        runs = croniter(expression, moment)
        due = runs.get_next(datetime)
        if due.replace(tzinfo=None) == moment.replace(tzinfo=None, microsecond=0):
            due = runs.get_next(datetime)  # the repeated hour of a change back: once only
        return timeline.from_schedule(start, due)
    except (OverflowError, ValueError, CroniterError):
        return None
