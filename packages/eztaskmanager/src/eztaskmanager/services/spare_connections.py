"""Database connections opened ahead of a run, for workers that would otherwise open one
per run.

A worker that closes its database connections between runs (an RQ work-horse dies with
its job; Celery closes them before and after every task unless told not to) opens a new
server session at each run's start: about 6-7 ms on PostgreSQL over TCP, and its first
statements then fill the server's catalog caches. A spare is that session opened and
warmed while the worker has nothing else to do, for its next run.

Only for the database the runner writes runs to, and only when it is reached over a
socket (SQLite connections are files, cheap to open, and must not cross a fork). A spare
that idled for :data:`CHECK_AFTER_IDLE` seconds is checked with a round trip before it is
used (the server may have ended it: a restart, an idle timeout); one that cannot be
opened is no error, the run opens its own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

# A spare this old (seconds) is checked with a round trip before it is used.
CHECK_AFTER_IDLE = 1.0


def runs_alias() -> str | None:
    """The database of the runs, if a spare connection to it is worth opening ahead."""
    from eztaskmanager.models import LaunchReport

    alias = router.db_for_write(LaunchReport)
    return None if connections[alias].vendor == "sqlite" else alias


def open_spare(spare: BaseDatabaseWrapper) -> bool:
    """Connect the new connection ``spare`` and warm it; return whether it is ready.

    Never raises: a connection that cannot be opened is closed again, and logged.
    """
    try:
        spare.connect()
        warm(spare)
    except (DatabaseError, OSError) as exc:
        logger.debug("No spare connection for the next run: %s", exc)
        close_quietly(spare)
        return False
    return True


def warm(connection: BaseDatabaseWrapper) -> None:
    """Plan a statement on each table of the runner on ``connection``: the server loads
    what it needs to know of the table and its indexes, which a new session otherwise
    does during the run's first statements. No row is read or written. Then compile the
    run's reads for it (Django's part of the same work).

    One table a statement: a join locks its tables one after another, and could deadlock
    with a statement that takes them all in another order (a TRUNCATE, say).
    """
    from eztaskmanager.models import AppCommand, LaunchReport, Log, Task
    from eztaskmanager.models.run_lifecycle import compile_run_reads

    with connection.cursor() as cursor:
        for model in (LaunchReport, Task, AppCommand, Log):
            sql, params = model.objects.filter(pk=0).query.sql_with_params()
            cursor.execute(sql, params)
    compile_run_reads(connection)


def still_usable(spare: BaseDatabaseWrapper, since: float) -> bool:
    """Whether the spare opened at ``since`` (monotonic seconds) can be used: at once, or
    after a round trip once it has idled :data:`CHECK_AFTER_IDLE` seconds."""
    return time.monotonic() - since <= CHECK_AFTER_IDLE or spare.is_usable()


def close_quietly(connection: Any) -> None:
    """Close ``connection``; its session may be gone already."""
    try:
        connection.close()
    except Exception:
        logger.debug("Could not close a spare connection", exc_info=True)
