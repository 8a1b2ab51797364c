"""Read a report's log lines page by page, at a cost that does not grow with the offset.

Lines are read by their per-report number (a keyset on the unique ``(launch_report,
line)`` index), never with SQL ``OFFSET``, and as plain tuples rather than model
instances, so a page from line 999,000 costs what a page from line 0 does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone

from eztaskmanager.models import LaunchReport, Log

# The seed's client reads until it reaches log_size; a page is never under 1,000 lines.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10000
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def clamp_page_size(limit: Any) -> int:
    """A page size from a request parameter: at least the default, at most the maximum."""
    try:
        value = int(limit)
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return max(DEFAULT_PAGE_SIZE, min(value, MAX_PAGE_SIZE))


def format_timestamp(value: datetime, tz: tzinfo | None = None) -> str:
    """The timestamp in the current time zone (or ``tz``), to the millisecond."""
    return value.astimezone(tz or timezone.get_current_timezone()).strftime(TIMESTAMP_FORMAT)[:-3]


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
    # Lines are numbered densely from 0, so the page is exactly the range [offset, end):
    # bounding both ends keeps the read at one page whatever plan the database picks
    # (with stale statistics PostgreSQL may choose a bitmap scan plus sort, which would
    # otherwise read every line after ``offset``).
    end = min(offset + limit, size)
    rows = list(
        Log.objects.filter(launch_report_id=report_id, line__gte=offset, line__lt=end)
        .order_by("line")
        .values_list("line", "timestamp", "level", "message")[:limit]
    )
    tz = timezone.get_current_timezone()  # once per page: it is a context-local lookup
    lines = [
        {"line": line, "timestamp": format_timestamp(ts, tz), "level": level, "message": message}
        for line, ts, level, message in rows
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


def tail_lines(report: LaunchReport, n_lines: int) -> list[str]:
    """The last ``n_lines`` lines as ``timestamp - LEVEL - message``, as the raw text view writes them."""
    tz = timezone.get_current_timezone()
    rows = (
        Log.objects.filter(
            launch_report_id=report.pk, line__gte=max(report.n_log_lines - n_lines, 0)
        )
        .order_by("line")
        .values_list("timestamp", "level", "message")
    )
    return [f"{format_timestamp(ts, tz)} - {level} - {message}" for ts, level, message in rows]


def iter_text_lines(report_id: int, chunk: int = MAX_PAGE_SIZE) -> Iterator[str]:
    """Every line as ``timestamp - LEVEL - message``, read in keyset chunks, for the raw view."""
    size = LaunchReport.objects.values_list("n_log_lines", flat=True).get(pk=report_id)
    tz = timezone.get_current_timezone()
    for start in range(0, size, chunk):
        rows = (
            Log.objects.filter(launch_report_id=report_id, line__gte=start, line__lt=start + chunk)
            .order_by("line")
            .values_list("timestamp", "level", "message")
        )
        for ts, level, message in rows:
            yield f"{format_timestamp(ts, tz)} - {level} - {message}\n"
