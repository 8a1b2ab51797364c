"""PostgreSQL sessions of the test database, as the connection tests watch and end them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def idle_sessions_opened_after(moment: datetime, clients: Iterable[int] | None = None) -> list[int]:
    """The server pids of the idle sessions of the test database opened since ``moment``,
    this test's own aside; only those of the processes ``clients``, when given (a session
    another process of the worker opened meanwhile is then not mistaken for them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'idle' AND backend_start > %s",
            [moment],
        )
        sessions = cursor.fetchall()
    ports = None if clients is None else local_ports(clients)
    return [pid for pid, port in sessions if ports is None or port in ports]


def local_ports(pids: Iterable[int]) -> set[int]:
    """The local ports of the TCP sockets that the processes ``pids`` hold (Linux's /proc)."""
    inodes: set[str] = set()
    tables = set()
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir() if fds.exists() else ():
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        tables |= {Path(f"/proc/{pid}/net/tcp"), Path(f"/proc/{pid}/net/tcp6")}
    ports = set()
    for table in tables:
        for line in table.read_text().splitlines()[1:] if table.exists() else ():
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


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
