"""A run's progress: bars its command reports, kept on its report as the latest value of each.

A command run by the task manager calls::

    from eztaskmanager.progress import report_progress

    report_progress(3, 10, group=("Download", "file 3"), status="42 MB of 80")

(``LoggerEnabledCommand.report_progress`` is the same). Each ``group`` is a path in a
tree of bars: ``("Download",)`` is the parent of ``("Download", "file 3")``. A call only
updates a dict; the run's helper thread writes the latest values with its heartbeat
(once a second, in the same UPDATE) and the run's end writes the last ones, so a command
may report on every item of a loop. Outside a run (a command started from a shell) a
call does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# Bounds, so that a command reporting in a loop with ever new groups cannot grow a row
# without limit: bars per run, levels of a group, characters of a name and of a status.
MAX_BARS = 50
MAX_DEPTH = 5
MAX_NAME = 100
MAX_STATUS = 200


class RunProgress:
    """The bars of one run, and whether they changed since they were last taken."""

    def __init__(self) -> None:
        self._bars: dict[tuple[str, ...], dict[str, Any]] = {}
        self._changed = False
        self._lock = threading.Lock()

    def update(
        self,
        current: float,
        total: float | None = None,
        group: Sequence[str] | str = (),
        status: str = "",
    ) -> None:
        """Set the bar of ``group`` to ``current`` of ``total`` (``None``: unknown)."""
        values = {
            "current": _number(current),
            "total": None if total is None else _number(total),
            "status": str(status)[:MAX_STATUS],
        }
        path = (group,) if isinstance(group, str) else tuple(group)
        key = tuple(str(name)[:MAX_NAME] for name in path[:MAX_DEPTH])
        now = round(time.time(), 3)
        with self._lock:
            bar = self._bars.get(key)
            if bar is None:
                if len(self._bars) >= MAX_BARS:
                    return
                bar = self._bars[key] = {"group": list(key), "started": now}
            bar.update(values, updated=now)
            self._changed = True

    def take(self) -> dict[str, Any] | None:
        """The bars to store if they changed since the last take, else ``None``."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            return {"bars": [dict(bar) for bar in self._bars.values()]}

    def give_back(self) -> None:
        """The bars taken were not stored (a database blip): take them again next time."""
        with self._lock:
            self._changed = True


def _number(value: float) -> float:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
        raise ValueError(f"progress must be a finite number, not {value!r}")
    return int(number) if number.is_integer() else number


# The runs going on in this process, by the thread that runs their command.
_runs: dict[int, RunProgress] = {}
_runs_lock = threading.Lock()


@contextmanager
def tracking(progress: RunProgress) -> Iterator[RunProgress]:
    """Send this thread's :func:`report_progress` calls to ``progress`` (the runner's)."""
    ident = threading.get_ident()
    with _runs_lock:
        previous = _runs.get(ident)
        _runs[ident] = progress
    try:
        yield progress
    finally:
        with _runs_lock:
            if previous is None:
                _runs.pop(ident, None)
            else:  # a run inside a run (the immediate backend)
                _runs[ident] = previous


def current_run() -> RunProgress | None:
    """The progress of the run in this thread; else the only run of the process, if one."""
    with _runs_lock:
        progress = _runs.get(threading.get_ident())
        if progress is None and len(_runs) == 1:
            progress = next(iter(_runs.values()))
    return progress


def report_progress(
    current: float,
    total: float | None = None,
    group: Sequence[str] | str = (),
    status: str = "",
) -> None:
    """Report the progress of the running command's ``group`` (see the module's docstring)."""
    progress = current_run()
    if progress is not None:
        progress.update(current, total, group, status)
