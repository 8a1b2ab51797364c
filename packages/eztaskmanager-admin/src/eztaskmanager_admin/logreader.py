"""The log viewer's reads, on top of the core's log path (:mod:`eztaskmanager.models.logs`).

The core reads lines by keyset and formats them; this module only shapes what the
viewer's JSON endpoint and raw text view send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from eztaskmanager.models import LaunchReport
from eztaskmanager.models.logs import format_time, iter_text, read_rows

# The seed's client reads until it reaches log_size; a page is never under 1,000 lines.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10000


def clamp_page_size(limit: Any) -> int:
    """A page size from a request parameter: at least the default, at most the maximum."""
    try:
        value = int(limit)
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return max(DEFAULT_PAGE_SIZE, min(value, MAX_PAGE_SIZE))


def read_page(report_id: int, offset: int, limit: int = DEFAULT_PAGE_SIZE) -> dict[str, Any]:
    """The JSON document the viewer polls: lines from ``offset`` on, and the run's state.

    The seed's keys (``new_log_lines``, ``task_status``, ``log_size``) come with the run's
    own ``state`` (queued, running, stopping, finished), its ``result`` and the ``reason``
    it ended so; ``finished`` is ``state == "finished"``. The report row is read first:
    lines numbered at or above the ``log_size`` read there are left for the next poll, so
    ``log_size``, ``finished`` and the lines always agree (the core writes a run's last
    line, its reason, in the transaction that marks it finished).
    """
    report = (
        LaunchReport.objects.filter(pk=report_id)
        .values(
            "n_log_lines",
            "n_log_errors",
            "n_log_warnings",
            "state",
            "reason",
            "invocation_result",
            "task__status",
        )
        .get()
    )
    offset = max(int(offset), 0)
    size = report["n_log_lines"]
    tz = timezone.get_current_timezone()  # once per page: it is a context-local lookup
    lines = [
        {"line": line, "timestamp": format_time(stamp, tz), "level": level, "message": message}
        for line, stamp, level, message in read_rows(report_id, offset, min(offset + limit, size))
    ]
    return {
        "new_log_lines": lines,
        "task_status": report["task__status"],
        "log_size": size,
        "offset": offset,
        "next_offset": offset + len(lines),
        "state": report["state"],
        "finished": report["state"] == LaunchReport.STATE_FINISHED,
        "result": report["invocation_result"],
        "reason": report["reason"],
        "n_log_errors": report["n_log_errors"],
        "n_log_warnings": report["n_log_warnings"],
        "page_level_counts": dict(Counter(line["level"] for line in lines)),
    }


def iter_text_lines(report_id: int) -> Iterator[str]:
    """Every line as text, for the raw view."""
    size = LaunchReport.objects.values_list("n_log_lines", flat=True).get(pk=report_id)
    return iter_text(report_id, size, chunk=MAX_PAGE_SIZE)
