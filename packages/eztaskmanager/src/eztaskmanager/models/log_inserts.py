"""How a batch of log lines goes into each database, in as few statements as it allows.

``COPY`` on PostgreSQL (psycopg 3); on SQLite one ``INSERT ... SELECT`` over a JSON array
(or one prepared ``executemany``); multi-row ``VALUES`` elsewhere. The batch is written
by the run's helper thread while the command goes on, so as little of it as possible
holds Python's lock. :mod:`eztaskmanager.models.logs` numbers and counts the lines and
calls :func:`insert_rows` under the report's lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from datetime import timezone as dt_timezone
from itertools import count, repeat
from operator import mul
from typing import Any

COLUMNS = ("launch_report_id", "line", "timestamp", "level", "message")
MAX_ROWS_PER_STATEMENT = 1000


def insert_rows(
    connection: Any,
    table: str,
    report_id: int,
    first_line: int,
    created: Sequence[float],
    levels: Sequence[str],
    messages: Sequence[str],
) -> None:
    """Insert the lines ``first_line``... in as few statements as the database allows.

    The batch is written by the run's helper thread while the command goes on, so as
    little of it as possible holds Python's lock: C-level maps rather than a Python call
    per line, and on SQLite one statement that does the rest in SQLite's own code.
    """
    ops = connection.ops
    table = ops.quote_name(table)
    columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy"):  # psycopg 3
            stamps = map(_timestamp_adapter(connection), created)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(_copy_text(report_id, first_line, stamps, levels, messages))
            return
        if _sqlite_json(connection) and not _has_nul(messages):
            # executemany would go back to Python, and take its lock again, for every row.
            micros = map(int, map(mul, created, repeat(1_000_000)))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {SQLITE_JSON_ROWS}",
                [
                    report_id,
                    first_line,
                    json.dumps(list(zip(micros, levels, messages, strict=False))),
                ],
            )
            return
        params = list(
            zip(
                repeat(report_id),
                count(first_line),
                map(_timestamp_adapter(connection), created),
                levels,
                messages,
                strict=False,
            )
        )
        if connection.vendor == "sqlite":  # one prepared statement, looped in C
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)", params
            )
            return
        max_params = connection.features.max_query_params or 1_000_000
        chunk = max(1, min(MAX_ROWS_PER_STATEMENT, max_params // len(COLUMNS)))
        for begin in range(0, len(params), chunk):
            part = params[begin : begin + chunk]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values}",
                [value for row in part for value in row],
            )


# Rows from a JSON array of [microseconds since the epoch, level, message]: the time as
# _timestamp_adapter writes it for SQLite (naive UTC text, to the microsecond).
SQLITE_JSON_ROWS = (
    "SELECT %s, %s + key,"
    " strftime('%%Y-%%m-%%d %%H:%%M:%%S', json_extract(value, '$[0]') / 1000000, 'unixepoch')"
    " || printf('.%%06d', json_extract(value, '$[0]') %% 1000000),"
    " json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(%s)"
)


def _sqlite_json(connection: Any) -> bool:
    """Whether ``connection`` is SQLite with its JSON functions, storing times in UTC."""
    return (
        connection.vendor == "sqlite"
        and connection.features.supports_json_field
        and connection.timezone_name == "UTC"
    )


def _timestamp_adapter(connection: Any) -> Callable[[float], object]:
    """Turn a record's ``created`` (epoch seconds) into what the database stores, fast.

    Equivalent to ``connection.ops.adapt_datetimefield_value()`` on an aware datetime:
    SQLite stores naive UTC text, PostgreSQL reads UTC text with its offset. Records come
    in bursts within one second, so the date and time are formatted once per second.
    """
    if connection.vendor not in ("sqlite", "postgresql"):
        adapt = connection.ops.adapt_datetimefield_value
        return lambda created: adapt(datetime.fromtimestamp(created, dt_timezone.utc))
    suffix = "+00" if connection.vendor == "postgresql" else ""
    cache: dict[int, str] = {}

    def text(created: float) -> str:
        second = int(created)
        prefix = cache.get(second)
        if prefix is None:
            cache.clear()
            prefix = cache[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return f"{prefix}.{int((created - second) * 1_000_000):06d}{suffix}"

    return text


# COPY's text format: backslash, tab, newline and carriage return are escaped; NUL cannot
# be stored in PostgreSQL text at all (one would lose the whole batch).
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_COPY_ROW = "{}\t{}\t{}\t{}\t{}\n".format


def _has_nul(texts: Sequence[str]) -> bool:
    return "\x00" in "".join(texts)


def _copy_text(
    report_id: int,
    first_line: int,
    stamps: Iterable[object],
    levels: Sequence[str],
    messages: Sequence[str],
) -> str:
    """The rows in COPY's text format, escaped in a few passes over the joined text."""
    if _has_nul(messages):
        messages = [message.replace("\x00", "\ufffd") for message in messages]
    if _has_nul(levels):
        levels = [level.replace("\x00", "\ufffd") for level in levels]
    return "".join(
        map(
            _COPY_ROW,
            repeat(report_id),
            count(first_line),
            stamps,
            _copy_escaped(levels),
            _copy_escaped(messages),
        )
    )


def _copy_escaped(texts: Sequence[str]) -> list[str]:
    """``texts`` escaped for COPY: joined at NUL (which none holds), escaped, split again."""
    joined = "\x00".join(texts)
    for char, escaped in _COPY_ESCAPES:
        if char in joined:
            joined = joined.replace(char, escaped)
    return joined.split("\x00")
