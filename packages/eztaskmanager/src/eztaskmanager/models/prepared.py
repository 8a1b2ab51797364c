"""The cursor of the hot statements: prepared by the server, where the project allows it.

Django binds a query's values into its text on the client (psycopg 3's
``ClientCursor``), so PostgreSQL parses and plans every statement anew: for the joins
that lock a run's task, planning costs as much as running them, and a run makes five such
statements (``benchmarks/run_cost.py``). Bound on the server instead, the statement's
text stays the same from one run to the next, and psycopg prepares it once a connection
has run it ``prepare_threshold`` times: the server then skips the parsing, and after a
few executions the planning too.

Prepared statements live in the server session, so a pooler that hands a client's
statements to another session (PgBouncer in transaction mode before 1.21, or without
``max_prepared_statements``) breaks them; Django therefore turns them off unless
``DATABASES[...]["OPTIONS"]["prepare_threshold"]`` says otherwise. The hot statements
follow that setting: bound on the server and prepared where it is a number, as Django
left them where it is not (and on every other database).
"""

from __future__ import annotations

from functools import cache

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


@cache
def server_binding_cursor() -> type | None:
    """Django's cursor class that binds values on the server; ``None`` without psycopg 3.

    Imported on first use: a project on another database may have no psycopg at all."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return None
    from django.db.backends.postgresql.base import ServerBindingCursor

    return ServerBindingCursor


def prepares(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection`` may keep prepared statements: PostgreSQL with psycopg 3 and
    ``OPTIONS["prepare_threshold"]`` set, unless :func:`never_prepare` was called on its
    open session."""
    if connection.vendor != "postgresql" or server_binding_cursor() is None:
        return False
    session = connection.connection
    if session is None:
        return connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    return session.prepare_threshold is not None


def never_prepare(connection: BaseDatabaseWrapper) -> None:
    """Prepare nothing on ``connection``'s open session: one that two processes use in
    turn (a worker and the work-horse it forked). psycopg knows what it prepared in its
    own process only, and the other process would prepare a statement under a name the
    session holds already."""
    if prepares(connection):
        connection.connection.prepare_threshold = None


def hot_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor of ``connection`` for the statements every run makes (a context manager,
    as ``connection.cursor()``): one that binds values on the server where
    :func:`prepares` says so, Django's own otherwise.

    Wrapped as Django wraps its own, so errors and ``execute_wrapper()`` work the same.
    While the queries are logged (``DEBUG``, a test that captures them) it is Django's
    own, whose log shows each statement's text: Django's debug cursor would log a
    prepared statement's as ``None``.
    """
    if connection.queries_logged or connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if not prepares(connection):
        return connection.cursor()
    with connection.wrap_database_errors:
        cursor = server_binding_cursor()(connection.connection)
    connection.validate_thread_sharing()
    return connection.make_cursor(cursor)
