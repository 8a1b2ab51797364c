"""Write log rows in as few statements as the database allows.

One INSERT per record costs about a millisecond; even ``bulk_create`` spends most of its
time building model instances. Log rows are plain tuples, so they go in as multi-row
``INSERT ... VALUES`` statements, chunked under the backend's parameter limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from django.db import connection

COLUMNS = ("launch_report_id", "line", "timestamp", "level", "message")
MAX_ROWS_PER_STATEMENT = 1000


def rows_per_statement() -> int:
    """How many rows one INSERT may carry under the backend's parameter limit."""
    max_params = connection.features.max_query_params or 1_000_000
    return max(1, min(MAX_ROWS_PER_STATEMENT, max_params // len(COLUMNS)))


def timestamp_text(suffix: str = "") -> Callable[[float], str]:
    """Format epoch seconds as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text, plus ``suffix``.

    Records come in bursts within one second, so the date and time part is formatted
    once per second, not once per record.
    """
    cache: dict[int, str] = {}

    def text(created: float) -> str:
        second = int(created)
        prefix = cache.get(second)
        if prefix is None:
            cache.clear()
            prefix = cache[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return f"{prefix}.{int((created - second) * 1_000_000):06d}{suffix}"

    return text


def timestamp_adapter() -> Callable[[float], object]:
    """Turn a record's ``created`` (epoch seconds) into what the backend stores, fast.

    Equivalent to ``connection.ops.adapt_datetimefield_value()`` on an aware datetime:
    SQLite stores naive UTC text, PostgreSQL reads UTC text with its offset.
    """
    if connection.vendor == "sqlite":
        return timestamp_text()
    if connection.vendor == "postgresql":
        return timestamp_text("+00")
    adapt = connection.ops.adapt_datetimefield_value
    return lambda created: adapt(datetime.fromtimestamp(created, timezone.utc))


def insert_log_rows(report_id: int, first_line: int, rows: Sequence[tuple[float, str, str]]):
    """Insert ``(created, level, message)`` rows as lines ``first_line``... of the report.

    PostgreSQL with psycopg 3 gets ``COPY FROM STDIN`` (by far its fastest way in);
    SQLite runs one prepared statement over all rows (``executemany`` loops in C); other
    backends get multi-row ``VALUES`` lists, one round trip per chunk.
    """
    from eztaskmanager.models import Log

    ops = connection.ops
    table = ops.quote_name(Log._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
    adapt = timestamp_adapter()
    params = [
        (report_id, line, adapt(created), level, message)
        for line, (created, level, message) in enumerate(rows, start=first_line)
    ]
    if connection.vendor == "postgresql":
        # PostgreSQL text cannot hold NUL; one such byte would lose the whole batch.
        params = [
            row if "\x00" not in row[4] else (*row[:4], row[4].replace("\x00", "\ufffd"))
            for row in params
        ]
    placeholders = "(%s, %s, %s, %s, %s)"
    with connection.cursor() as cursor:
        if hasattr(cursor.cursor, "copy"):  # psycopg 3
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
            return
        if connection.vendor == "sqlite":
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES {placeholders}", params)
            return
        chunk = rows_per_statement()
        for begin in range(0, len(params), chunk):
            part = params[begin : begin + chunk]
            values = ", ".join([placeholders] * len(part))
            flat = [value for row in part for value in row]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", flat)
