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

import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

# Bounds, so that a command reporting in a loop with ever new groups cannot grow a row
# without limit: bars per run, levels of a group, characters of a name and of a status.
MAX_BARS = 50
MAX_DEPTH = 5
MAX_NAME = 100
MAX_STATUS = 200


class RunProgress:
    """The bars of one run, and whether they changed since they were last taken.

    :meth:`update` runs on the command's hot path: it only stores the call's values (a
    dict assignment, atomic in CPython); :meth:`take`, once a second on the helper
    thread, checks and shapes them.
    """

    def __init__(self) -> None:
        # group -> (current, total, status, when); and when each group first reported.
        self._latest: dict[Any, tuple[Any, Any, Any, float]] = {}
        self._started: dict[Any, float] = {}
        self._changed = False

    def update(
        self,
        current: float,
        total: float | None = None,
        group: Sequence[str] | str = (),
        status: str = "",
    ) -> None:
        """Set the bar of ``group`` to ``current`` of ``total`` (``None``: unknown)."""
        now = time.time()
        if type(group) is list:  # a list cannot be a key; a tuple or a string can
            group = tuple(group)
        if group not in self._started:
            if len(self._started) >= MAX_BARS:
                return
            self._started[group] = now
        self._latest[group] = (current, total, status, now)
        self._changed = True

    def take(self) -> dict[str, Any] | None:
        """The bars to store if they changed since the last take, else ``None``."""
        if not self._changed:
            return None
        self._changed = False
        bars = []
        for group, (current, total, status, updated) in list(self._latest.items()):
            bar = _bar(group, current, total, status)
            if bar is not None:
                bar.update(started=round(self._started[group], 3), updated=round(updated, 3))
                bars.append(bar)
        return {"bars": bars}

    def give_back(self) -> None:
        """The bars taken were not stored (a database blip): take them again next time."""
        self._changed = True


def _bar(group: Any, current: Any, total: Any, status: Any) -> dict[str, Any] | None:
    """One bar as stored, its names and status cut to size; ``None`` for values that are
    not finite numbers (dropped, with a warning)."""
    path = (group,) if isinstance(group, str) else tuple(group)
    try:
        values = {"current": _number(current), "total": None if total is None else _number(total)}
    except (TypeError, ValueError):
        logger.warning(
            "Progress of %r dropped: %r of %r are not finite numbers", path, current, total
        )
        return None
    return {
        "group": [str(name)[:MAX_NAME] for name in path[:MAX_DEPTH]],
        **values,
        "status": str(status)[:MAX_STATUS],
    }


def _number(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
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
