"""Several data-changing statements sent as one, where the database allows it.

A run's end writes its last log lines, its own row and its task's row; its start, its
row and its task's. Each statement is a round trip to the server, and on a local
PostgreSQL the wait costs more than the statement. PostgreSQL runs data-changing
statements inside ``WITH``: :func:`write_together` sends them as one, each in its own
``WITH`` clause, and reads back how many rows each one changed. Elsewhere (SQLite has no
such ``WITH``) they run one after another, in the caller's transaction.

All the statements of one ``WITH`` see the database as it was before any of them ran, so
they must not depend on each other's changes: they write different rows, under locks
the caller already holds (see :mod:`eztaskmanager.models.run_lifecycle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connections, transaction

from eztaskmanager.models.prepared import hot_cursor


@dataclass(frozen=True)
class Write:
    """An INSERT or UPDATE with no ``RETURNING`` clause, and its parameters (``%s``)."""

    sql: str
    params: list[Any]


def write_together(using: str, writes: list[Write | None]) -> list[int]:
    """Run ``writes`` in order, as one statement on PostgreSQL; return the number of rows
    each one changed. ``None`` stands for a write that can change no row (0).

    Call it inside ``transaction.atomic()`` with more than one write: elsewhere than on
    PostgreSQL each would otherwise be committed on its own. An error marks the current
    transaction for rollback, as Django's own writes do.
    """
    sent = [write for write in writes if write is not None]
    if not sent:
        return [0] * len(writes)
    connection = connections[using]
    with transaction.mark_for_rollback_on_error(using), hot_cursor(connection) as cursor:
        if len(sent) > 1 and connection.vendor == "postgresql":
            cursor.execute(
                _with_clauses(tuple(write.sql for write in sent)),
                [param for write in sent for param in write.params],
            )
            counts = iter(cursor.fetchone())
        else:
            counts = iter([_run(cursor, write) for write in sent])
    return [0 if write is None else next(counts) for write in writes]


def _run(cursor: Any, write: Write) -> int:
    cursor.execute(write.sql, write.params)
    return cursor.rowcount


@lru_cache(maxsize=256)
def _with_clauses(statements: tuple[str, ...]) -> str:
    """``WITH w0 AS (... RETURNING 1), ... SELECT (SELECT count(*) FROM w0), ...``: every
    clause runs once whether read or not, and the counts are its changed rows."""
    clauses = ", ".join(f"w{i} AS ({sql} RETURNING 1)" for i, sql in enumerate(statements))
    counts = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(statements)))
    return f"WITH {clauses} SELECT {counts}"
