"""PostgreSQL sessions of the test database, as the spare-connection tests watch them."""

from __future__ import annotations

from datetime import datetime

from django.db import connection


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
