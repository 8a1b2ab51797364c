"""The log viewer's reads, on top of the core's log path (:mod:`eztaskmanager.models.logs`).

The core reads lines by keyset and formats their time; this module only shapes what the
viewer's JSON endpoint and raw text view send. A page's JSON is written line by line
from the rows, without a dict per line: on a page of thousands of lines, building and
encoding those objects cost more than reading the rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii as quote
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import router
from django.db.models import QuerySet

from eztaskmanager.models import LaunchReport
from eztaskmanager.models.compiled import INT_MARKERS, CompiledRead
from eztaskmanager.models.logs import iter_text, read_lines

# The seed's client reads until it reaches log_size with the default page. The viewer
# asks for a small first page (what its screen shows), then for the largest pages.
DEFAULT_PAGE_SIZE = 1000
MIN_PAGE_SIZE = 100
FIRST_PAGE_SIZE = 500
MAX_PAGE_SIZE = 10000


# What a page tells of its report, in this order.
STATE_FIELDS = (
    "n_log_lines",
    "n_log_errors",
    "n_log_warnings",
    "state",
    "reason",
    "invocation_result",
    "progress",
    "task__status",
)


def _report_state(using: str, pk: int, started_by: Any = None) -> QuerySet:
    reports = LaunchReport.objects.using(using).filter(pk=pk)
    if started_by is not None:
        reports = reports.filter(started_by_id=started_by)
    return reports.values_list(*STATE_FIELDS)


# Compiled once per connection (the live viewer asks every second).
_STATE = CompiledRead(_report_state, pk=INT_MARKERS[0])


def clamp_page_size(limit: Any) -> int:
    """A page size from a request parameter: the default when absent, within the bounds."""
    try:
        value = int(limit)
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return max(MIN_PAGE_SIZE, min(value, MAX_PAGE_SIZE))


def page_json(
    report_id: int,
    offset: int,
    limit: int = DEFAULT_PAGE_SIZE,
    compact: bool = False,
    started_by: Any = None,
    tail: int | None = None,
) -> str:
    """The JSON document the viewer polls: lines from ``offset`` on, and the run's state.

    ``tail``: the last ``tail`` lines instead (``offset`` is then ignored): what a viewer
    that follows a run asks for first, since the end is what its screen shows. The
    document's ``offset`` says where they begin.

    The seed's keys (``new_log_lines``, ``task_status``, ``log_size``) come with the run's
    own ``state`` (queued, running, stopping, finished), its ``result`` and the ``reason``
    it ended so; ``finished`` is ``state == "finished"``; ``progress`` holds the bars its
    command reports (``{"bars": [{"group", "current", "total", "status", "started",
    "updated"}]}``). The report row is read first:
    lines numbered at or above the ``log_size`` read there are left for the next poll, so
    ``log_size``, ``finished`` and the lines always agree (the core writes a run's last
    line, its reason, in the transaction that marks it finished).

    A line is ``{"line", "timestamp", "level", "message"}``, or with ``compact`` the array
    ``[line, timestamp, level, message]`` (what the admin's viewer asks for).

    ``started_by``: the only user whose runs' reports the caller may read (the viewer's
    :func:`~eztaskmanager.permissions.only_runs_of`); another one raises
    ``LaunchReport.DoesNotExist`` as a missing one does, in the same one query.
    """
    using = router.db_for_read(LaunchReport)
    if started_by is None:
        row = _STATE.first(using, pk=report_id)
    else:
        # Built each time: a custom user model's id need not be an integer, which a
        # compiled read's marker would have to be.
        row = _report_state(using, report_id, started_by).first()
    if row is None:
        raise LaunchReport.DoesNotExist(f"No report {report_id} to read.")
    report = dict(zip(STATE_FIELDS, row, strict=True))
    size = report["n_log_lines"]
    offset = max(size - tail, 0) if tail is not None else max(int(offset), 0)
    rows = read_lines(report_id, offset, min(offset + limit, size))
    document = {
        "task_status": report["task__status"],
        "log_size": size,
        "offset": offset,
        "next_offset": offset + len(rows),
        "state": report["state"],
        "finished": report["state"] == LaunchReport.STATE_FINISHED,
        "result": report["invocation_result"],
        "reason": report["reason"],
        "n_log_errors": report["n_log_errors"],
        "n_log_warnings": report["n_log_warnings"],
        "page_level_counts": Counter(row[2] for row in rows),
        # The bars the command reported (eztaskmanager.progress), as of its last heartbeat.
        "progress": report["progress"] or {},
    }
    head = json.dumps(document, cls=DjangoJSONEncoder)
    return f'{head[:-1]}, "new_log_lines": [{",".join(_lines_json(rows, compact))}]}}'


def _lines_json(rows: list, compact: bool) -> Iterator[str]:
    """Each row as JSON text; a time and a level are quoted once, however many lines share them."""
    quoted: dict[str, str] = {}
    for line, stamp, level, message in rows:
        stamp_json = quoted.get(stamp)
        if stamp_json is None:
            stamp_json = quoted[stamp] = quote(stamp)
        level_json = quoted.get(level)
        if level_json is None:
            level_json = quoted[level] = quote(level)
        if compact:
            yield f"[{line},{stamp_json},{level_json},{quote(message)}]"
        else:
            yield (
                f'{{"line": {line}, "timestamp": {stamp_json}, '
                f'"level": {level_json}, "message": {quote(message)}}}'
            )


def read_page(report_id: int, offset: int, limit: int = DEFAULT_PAGE_SIZE) -> dict[str, Any]:
    """:func:`page_json` as Python objects (for code that calls the reader itself)."""
    return json.loads(page_json(report_id, offset, limit))


def iter_text_lines(report_id: int) -> Iterator[str]:
    """Every line as text, for the raw view."""
    size = LaunchReport.objects.values_list("n_log_lines", flat=True).get(pk=report_id)
    return iter_text(report_id, size, chunk=MAX_PAGE_SIZE)
