"""Write log rows in as few statements as the database allows.

One INSERT per record costs about a millisecond; even ``bulk_create`` spends most of its
time building model instances. Log rows are plain tuples, so they go in as multi-row
``INSERT ... VALUES`` statements, chunked under the backend's parameter limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

COLUMNS = ("launch_report_id", "line", "timestamp", "level", "message")
MAX_ROWS_PER_STATEMENT = 1000


def rows_per_statement() -> int:
    """How many rows one INSERT may carry under the backend's parameter limit."""
    max_params = connection.features.max_query_params or 1_000_000
    return max(1, min(MAX_ROWS_PER_STATEMENT, max_params // len(COLUMNS)))


def insert_log_rows(report_id: int, first_line: int, rows: Sequence[tuple[datetime, str, str]]):
    """Insert ``rows`` as lines ``first_line``, ``first_line + 1``... of the report."""
    from eztaskmanager.models import Log

    ops = connection.ops
    table = ops.quote_name(Log._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
    chunk = rows_per_statement()
    adapt = ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for begin in range(0, len(rows), chunk):
            part = rows[begin : begin + chunk]
            params: list[object] = []
            for offset, (timestamp, level, message) in enumerate(part, start=first_line + begin):
                params += (report_id, offset, adapt(timestamp), level, message)
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)
