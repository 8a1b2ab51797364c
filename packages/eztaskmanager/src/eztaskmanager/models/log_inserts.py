"""How a batch of log lines goes into each database, in as few statements as it allows.

``COPY`` in its binary format on PostgreSQL (psycopg 3), or one ``INSERT`` for a few
lines (:data:`PG_INSERT_UP_TO`); on SQLite one ``INSERT ...
SELECT`` over a JSON array (or one prepared ``executemany``); multi-row ``VALUES``
elsewhere. The batch is written by the run's helper thread while the command goes on,
and whatever holds Python's lock stops the command: so each is built by C-level maps and
joins, never a Python call per line, and the database's own code does the rest.
:mod:`eztaskmanager.models.logs` numbers and counts the lines and calls
:func:`insert_rows` under the report's lock.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from datetime import timezone as dt_timezone
from itertools import chain, count, islice, repeat
from operator import mul, sub
from typing import Any

from eztaskmanager.models.prepared import hot_cursor
from eztaskmanager.models.writes import Write

COLUMNS = ("launch_report_id", "line", "timestamp", "level", "message")
MAX_ROWS_PER_STATEMENT = 1000
# Up to this many lines go in one INSERT on PostgreSQL: a COPY waits for the server twice
# (its start, then its data), an INSERT once, which is what a few lines cost (the last
# lines of a run, a command that logs now and then); above it, COPY's binary rows win.
PG_INSERT_UP_TO = 8


def insert_rows(
    connection: Any,
    model: Any,
    report_id: int,
    first_line: int,
    created: Sequence[float],
    levels: Sequence[str],
    messages: Sequence[str],
) -> None:
    """Insert the lines ``first_line``... of ``model`` (the ``Log`` model) in as few statements
    as the database allows."""
    levels = _fitting(levels, model._meta.get_field("level").max_length)
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
    # The few lines' INSERT has one text for each number of lines: prepared where allowed.
    with hot_cursor(connection) as cursor:
        has_copy = hasattr(cursor.cursor, "copy")  # psycopg 3
        if connection.vendor == "postgresql" and has_copy and len(levels) > PG_INSERT_UP_TO:
            data = _pg_binary_copy(
                _pg_row_heads(connection, model, report_id, levels),
                first_line,
                created,
                messages,
            )
            binary_columns = ", ".join(ops.quote_name(c) for c in PG_BINARY_COLUMNS)
            sql = f"COPY {table} ({binary_columns}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.write(data)
            return
        if _sqlite_json(connection) and not _has_nul(messages) and not _has_nul(levels):
            # executemany would go back to Python, and take its lock again, for every row.
            # (Not with a NUL: SQLite's JSON functions end the text there.)
            rows = _utf8(_json_rows(created, levels, messages))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {SQLITE_JSON_ROWS}", [report_id, first_line, rows]
            )
            return
        if connection.vendor == "sqlite":  # one prepared statement, looped in C
            params = _rows(connection, report_id, first_line, created, levels, messages)
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)", params
            )
            return
        for write in _values_writes(
            connection, model, report_id, first_line, created, levels, messages
        ):
            cursor.execute(write.sql, write.params)


def few_lines_write(
    connection: Any,
    model: Any,
    report_id: int,
    first_line: int,
    created: Sequence[float],
    levels: Sequence[str],
    messages: Sequence[str],
) -> Write | None:
    """On PostgreSQL, the one INSERT of a few lines (up to :data:`PG_INSERT_UP_TO`), to
    run with other writes (:func:`~eztaskmanager.models.writes.write_together`); ``None``
    elsewhere, and for no line or more lines (:func:`insert_rows` writes those)."""
    if connection.vendor != "postgresql" or not 0 < len(levels) <= PG_INSERT_UP_TO:
        return None
    levels = _fitting(levels, model._meta.get_field("level").max_length)
    (write,) = _values_writes(connection, model, report_id, first_line, created, levels, messages)
    return write


def _values_writes(
    connection: Any,
    model: Any,
    report_id: int,
    first_line: int,
    created: Sequence[float],
    levels: Sequence[str],
    messages: Sequence[str],
) -> list[Write]:
    """The lines as multi-row ``INSERT ... VALUES``, as many rows in each as allowed."""
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
    if connection.vendor == "postgresql":
        levels, messages = _pg_text(levels), _pg_text(messages)
    params = _rows(connection, report_id, first_line, created, levels, messages)
    max_params = connection.features.max_query_params or 1_000_000
    chunk = max(1, min(MAX_ROWS_PER_STATEMENT, max_params // len(COLUMNS)))
    writes = []
    for begin in range(0, len(params), chunk):
        part = params[begin : begin + chunk]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
        writes.append(
            Write(
                f"INSERT INTO {table} ({columns}) VALUES {values}",
                [value for row in part for value in row],
            )
        )
    return writes


def _rows(
    connection: Any,
    report_id: int,
    first_line: int,
    created: Sequence[float],
    levels: Sequence[str],
    messages: Sequence[str],
) -> list[tuple]:
    """The lines as rows of :data:`COLUMNS`, their times as the database stores them."""
    return list(
        zip(
            repeat(report_id),
            count(first_line),
            map(_timestamp_adapter(connection), created),
            levels,
            messages,
            strict=False,
        )
    )


def _fitting(levels: Sequence[str], width: int) -> Sequence[str]:
    """``levels``, each cut to the column's ``width``: a custom level's long name
    (``logging.addLevelName``) would make PostgreSQL refuse the whole batch."""
    if all(len(level) <= width for level in set(levels)):  # a handful of distinct levels
        return levels
    return [level[:width] for level in levels]


# The rows as JSON: a batch holds no cycle, and checking for one costs as much as the rest;
# text stays as it is (escaping all but ASCII would let a lone surrogate through as one).
_JSON = json.JSONEncoder(check_circular=False, ensure_ascii=False, separators=(",", ":"))


# Rows encoded per chunk: fewer than the garbage collector's threshold (700) of new tuples
# at a time, so that a batch brings no collection (each would run on the command's time).
JSON_CHUNK = 500


def _json_rows(created: Sequence[float], levels: Sequence[str], messages: Sequence[str]) -> str:
    """The rows as a JSON array of ``[microseconds since the epoch, level, message]``."""
    micros = map(int, map(mul, created, repeat(1_000_000)))
    rows = zip(micros, levels, messages, strict=False)
    chunks = (
        _JSON.encode(list(islice(rows, JSON_CHUNK)))[1:-1]
        for _ in range(0, len(levels), JSON_CHUNK)
    )
    return f"[{','.join(chunks)}]"


def _utf8(text: str) -> str:
    """``text`` with any lone surrogate replaced: SQLite would store it as bytes that no
    longer read as UTF-8, and the whole log could not be read. Free for ASCII text."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode(errors="replace").decode()
    return text


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


# PostgreSQL's binary COPY: a signature, then each row as its number of fields and each
# field as its length and its bytes (big-endian), then -1. The columns come in an order
# that puts the varying fixed-size fields (line, time, the message's length) together, so
# a row is three pieces: its level's head, one packed struct, its message.
PG_BINARY_COLUMNS = ("launch_report_id", "level", "line", "timestamp", "message")
PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
PG_TRAILER = b"\xff\xff"
PG_EPOCH = 946_684_800  # 2000-01-01 UTC: PostgreSQL's timestamps count microseconds from it
PG_INTEGERS = {"smallint": "h", "integer": "i", "bigint": "q"}
_PG_MIDDLE = struct.Struct(">iiiqi")  # the line, the time, the message's length
_PG_LENGTH = struct.Struct(">i")


def _pg_row_heads(
    connection: Any, model: Any, report_id: int, levels: Sequence[str]
) -> list[bytes]:
    """Each row's first bytes: the field count, the report's id and the level (NUL replaced).

    A batch holds a handful of levels, so each is encoded once.
    """
    id_code = PG_INTEGERS[model._meta.get_field("launch_report").db_type(connection)]
    if PG_INTEGERS[model._meta.get_field("line").db_type(connection)] != "i":
        raise ValueError("Log.line must be a PostgreSQL integer for the binary COPY")
    start = struct.pack(
        f">hi{id_code}", len(PG_BINARY_COLUMNS), struct.calcsize(id_code), report_id
    )
    heads: dict[str, bytes] = {}
    for level in set(levels):
        encoded = level.replace("\x00", "\ufffd").encode(errors="replace")
        heads[level] = start + _PG_LENGTH.pack(len(encoded)) + encoded
    return list(map(heads.__getitem__, levels))


def _pg_binary_copy(
    heads: Sequence[bytes], first_line: int, created: Sequence[float], messages: Sequence[str]
) -> bytes:
    """The rows in COPY's binary format: no escaping, no time parsed by the server.

    NUL cannot be stored in PostgreSQL text at all (one would lose the whole batch), nor
    can a lone surrogate be encoded: both are replaced.
    """
    messages = _without_nul(messages)
    try:
        encoded = list(map(str.encode, messages))
    except UnicodeEncodeError:
        encoded = list(map(str.encode, messages, repeat("utf-8"), repeat("replace")))
    micros = map(round, map(mul, map(sub, created, repeat(PG_EPOCH)), repeat(1_000_000)))
    middles = map(
        _PG_MIDDLE.pack, repeat(4), count(first_line), repeat(8), micros, map(len, encoded)
    )
    rows = chain.from_iterable(zip(heads, middles, encoded, strict=False))
    return b"".join(chain((PG_SIGNATURE,), rows, (PG_TRAILER,)))


def _pg_text(texts: Sequence[str]) -> Sequence[str]:
    """``texts`` as PostgreSQL stores them, for a few lines bound into an INSERT: NUL and
    lone surrogates replaced, as the binary COPY does (either would lose the batch)."""
    return list(map(_utf8, _without_nul(texts)))


def _without_nul(texts: Sequence[str]) -> Sequence[str]:
    """``texts`` with each NUL replaced (U+FFFD): PostgreSQL text cannot hold one."""
    if not _has_nul(texts):
        return texts
    return [text.replace("\x00", "\ufffd") for text in texts]


def _has_nul(texts: Sequence[str]) -> bool:
    return "\x00" in "".join(texts)
