"""PostgreSQL sessions of the test database, as the connection tests watch and end them."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def idle_sessions_opened_after(moment: datetime) -> list[int]:
    """The server pids of the idle sessions of the test database opened since ``moment``,
    this test's own aside."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'idle' AND backend_start > %s",
            [moment],
        )
        return [pid for (pid,) in cursor.fetchall()]


def end_sessions(pids: list[int]) -> None:
    """End these sessions from the server's side, as a restart or an idle timeout would."""
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def end_session_of(conn: BaseDatabaseWrapper) -> int:
    """End ``conn``'s own session (opened if it was not) from another connection, as a
    restart would; return the session's server pid. ``conn`` still thinks it is open."""
    conn.ensure_connection()
    pid = conn.connection.info.backend_pid
    other = connections.create_connection(conn.alias)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    return pid


def prepared_by_probe(report) -> list[str]:
    """The statements the session of a ``prepared_probe`` run held prepared, as the run's
    log lists them after their count."""
    count, *statements = report.logs.order_by("line").values_list("message", flat=True)
    assert count == f"prepared {len(statements)}"
    return statements
