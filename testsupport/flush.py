"""The test database's flush, tried again when PostgreSQL ends it as a deadlock's victim.

A ``transaction=True`` test ends with Django's ``flush``: on PostgreSQL one ``TRUNCATE``
of every table, which takes the tables' locks one after another. The integration tests'
workers and schedulers go on between tests, and any of their joins takes its tables'
locks one after another too; when the two meet in opposite orders PostgreSQL ends one of
them (``deadlock detected``), sometimes the ``TRUNCATE``, and the test fails at its
teardown (seen once in ``integration_celery`` on PostgreSQL). The flush's transaction is
rolled back whole, so doing it again is safe; the worker's query goes on by itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import OperationalError

# PostgreSQL's SQLSTATE for "deadlock detected".
DEADLOCK = "40P01"
ATTEMPTS = 5


def is_deadlock(exc: BaseException) -> bool:
    """Whether ``exc`` (as Django raises it) is PostgreSQL's ``deadlock detected``."""
    cause = exc.__cause__
    # psycopg 3 names the code sqlstate, psycopg2 pgcode.
    return DEADLOCK in (getattr(cause, "sqlstate", None), getattr(cause, "pgcode", None))


def retrying_on_deadlock(execute_sql_flush: Callable[..., Any]) -> Callable[..., Any]:
    """``execute_sql_flush`` done again, up to :data:`ATTEMPTS` times in all, after a deadlock."""

    @functools.wraps(execute_sql_flush)
    def execute(self: Any, sql_list: list[str]) -> Any:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return execute_sql_flush(self, sql_list)
            except OperationalError as exc:
                if attempt == ATTEMPTS or not is_deadlock(exc):
                    raise

    execute.retries_deadlocks = True
    return execute


def install() -> None:
    """Make every backend's flush retry after a deadlock (once per process)."""
    import django.db.models  # noqa: F401  (imported first: the other way round is circular)
    from django.db.backends.base.operations import BaseDatabaseOperations

    current = BaseDatabaseOperations.execute_sql_flush
    if not getattr(current, "retries_deadlocks", False):
        BaseDatabaseOperations.execute_sql_flush = retrying_on_deadlock(current)
