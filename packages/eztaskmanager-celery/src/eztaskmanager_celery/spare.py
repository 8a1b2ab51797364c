"""A prefork pool process's spare database connection, opened once its run has ended.

With Django's and Celery's defaults a worker keeps no database connection from one task
to the next (Celery's Django integration closes them before and after every task unless
``CELERY_DB_REUSE_MAX`` is set), so every run opened a new server session at its start,
and filled the new session's caches with its first statements: on PostgreSQL, the
largest part of a run's start. So each prefork pool process gets the core's
:class:`~eztaskmanager.services.spare_connections.SpareConnection`: once a run has ended
and the process has idled a moment, it opens and warms the next run's connection on a
thread; the next run takes it, and its session still ends with the run. An idle pool
process thus holds one connection, as an idle RQ worker does.

Only in prefork pool processes (not the solo, threads or green pools, whose tasks share a
process), only for a database reached over a socket (not SQLite), and not in a process
that keeps its connection between tasks (``CONN_MAX_AGE`` with ``CELERY_DB_REUSE_MAX``).
"""

from __future__ import annotations

from typing import Any

from eztaskmanager.services.spare_connections import spare_connection


def on_worker_process_init(**_kw: Any) -> None:
    """In a prefork pool process, as it starts: its runs get spare connections."""
    spare_connection.enabled = True


def on_worker_process_shutdown(**_kw: Any) -> None:
    """In a prefork pool process, as it leaves: end the spare's session properly."""
    spare_connection.close()
