"""What passes between the core and a queue engine: the words of a job's state, what a
Stop did, and the engine's errors in the core's terms.

Backends import these from :mod:`eztaskmanager.services.queues`, beside the base class.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from django.utils.translation import gettext as _

from eztaskmanager.exceptions import TaskQueueException


class JobState(str, enum.Enum):
    """What a queue engine says of one of its jobs."""

    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # a worker has it
    ENDED = "ended"  # over: finished, failed or stopped
    MISSING = "missing"  # the engine does not know it (any more)
    UNKNOWN = "unknown"  # the engine cannot tell


@dataclass(frozen=True)
class JobInfo:
    state: JobState
    detail: str = ""  # the engine's own words, e.g. "failed: work-horse killed (signal 9)"


class ScheduleHandle(NamedTuple):
    """A scheduled task as a look for lost schedules asks the engine about it: its key and
    its schedule's handle. Read for every scheduled task at once as plain rows: model
    instances of 10,000 tasks cost several times the look itself."""

    pk: int
    scheduled_job_id: str


class Engine(Protocol):
    """What the core asks any engine about its jobs (every ``TaskQueueService`` answers)."""

    def job_state(self, job_id: str) -> JobInfo: ...


@dataclass
class StopOutcome:
    """What a Stop did: runs ended, runs still stopping, a schedule cancelled."""

    stopped: int = 0
    stopping: int = 0
    unscheduled: bool = False

    @property
    def nothing(self) -> bool:
        return not (self.stopped or self.stopping or self.unscheduled)


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Turn a queue engine's own exceptions into a :class:`TaskQueueException` saying ``action``."""
    try:
        yield
    except TaskQueueException:
        raise
    except Exception as exc:
        raise TaskQueueException(
            _("Could not %(action)s: %(error)s") % {"action": action, "error": exc}
        ) from exc
