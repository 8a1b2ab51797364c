"""The test clock: schedules whose minutes last seconds, for tests of real processes.

A periodic task's runs come from one function of the core,
:func:`eztaskmanager.scheduling.next_run_after`, which works on a replaceable time line
(:data:`eztaskmanager.scheduling.timeline`). :class:`FastTimeLine` maps each instant onto
a schedule's own time line, where time passes ``speed`` times faster from the schedule's
start, lets the core's rules pick the run there, and maps the run back: with a speed of
30, a task run every minute runs every 2 s, and one run daily at 09:00 in Rome moves by
23 or 25 of its hours across a daylight-saving change, as the real rules say.

The engines see nothing of it: rq-scheduler and Celery beat fire the real instants they
are given. Every process that computes due times needs the same clock: the test process,
RQ's worker and scheduler, Celery's beat. A test settings module installs it (the
processes the tests start load the same settings)::

    from testsupport.clock import install

    install(speed=30)

and a unit test uses :func:`fast_schedules` as a context manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from eztaskmanager import scheduling

# What the integration tests use: a one-minute period lasts 2 s.
SPEED = 30
MICROSECOND = timedelta(microseconds=1)


class FastTimeLine(scheduling.RealTime):
    """A schedule's time passes ``speed`` times faster than real time from its start."""

    def __init__(self, speed: int) -> None:
        if not isinstance(speed, int) or isinstance(speed, bool) or speed < 1:
            raise ValueError(f"speed must be a whole number >= 1, not {speed!r}")
        self.speed = speed

    def to_schedule(self, start: datetime, moment: datetime) -> datetime:
        # In UTC: adding to a wall-clock time would move it by the zone's rules, not by time.
        origin = start.astimezone(dt_timezone.utc)
        return origin + (moment - origin) * self.speed

    def from_schedule(self, start: datetime, moment: datetime) -> datetime:
        origin = start.astimezone(dt_timezone.utc)
        elapsed = (moment.astimezone(dt_timezone.utc) - origin) // MICROSECOND
        # Rounded up, so that a run found strictly after an instant stays after it.
        real = origin + timedelta(microseconds=-(-elapsed // self.speed))
        return real.astimezone(moment.tzinfo)

    def __repr__(self) -> str:
        return f"FastTimeLine(speed={self.speed})"


def install(speed: int = SPEED) -> FastTimeLine:
    """Run every schedule of this process ``speed`` times faster, for the process's life."""
    scheduling.timeline = FastTimeLine(speed)
    return scheduling.timeline


@contextmanager
def fast_schedules(speed: int = SPEED) -> Iterator[FastTimeLine]:
    """Run every schedule of this process ``speed`` times faster inside the block."""
    previous = scheduling.timeline
    try:
        yield install(speed)
    finally:
        scheduling.timeline = previous
