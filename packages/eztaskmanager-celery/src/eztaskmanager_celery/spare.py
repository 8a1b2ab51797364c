"""A database connection opened by a pool process once its run has ended, for its next run.

With Django's and Celery's defaults a worker keeps no database connection from one task
to the next (Celery's Django integration closes them before and after every task unless
``CELERY_DB_REUSE_MAX`` is set), so every run opened a new server session at its start,
and filled the new session's caches with its first statements: on PostgreSQL, the
largest part of a run's start.

So a prefork pool process whose run found no connection open opens the next run's on a
thread of its own once the run has ended and the process has idled :data:`IDLE_FIRST`
seconds, and warms it (:mod:`eztaskmanager.services.spare_connections`). A run that comes
sooner (the process is busy: a burst) opens its own, as before, and no spare is opened
for nothing; one that comes while the spare is being opened waits for it (a moment at
most), which is shorter than opening another. Its session still ends with the run, as
``CONN_MAX_AGE`` says: a run never sees what an earlier run left in its session. An idle
pool process thus holds one connection, as an idle RQ worker does. A process that keeps
its connection between tasks (``CONN_MAX_AGE`` with ``CELERY_DB_REUSE_MAX``) opens no
spare.

Only in prefork pool processes (not the solo, threads or green pools, whose tasks share a
process), and only for a database reached over a socket (not SQLite).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from eztaskmanager.services.spare_connections import (
    close_quietly,
    open_spare,
    runs_alias,
    still_usable,
)

# Seconds a pool process idles after a run before it opens the next run's connection.
IDLE_FIRST = 0.05
# The longest a run waits for a spare being opened (a server slow to answer, or gone):
# then it opens its own, and the spare, if it comes, waits for a later run.
WAIT_FOR_SPARE = 1.0


class SpareConnection:
    """The next run's connection of one pool process (see the module's docstring)."""

    def __init__(self) -> None:
        # Set in prefork pool processes only (Celery's worker_process_init signal).
        self.enabled = False
        # The process keeps its connection between tasks: it needs no spare.
        self.connection_kept = False
        self.spare: BaseDatabaseWrapper | None = None
        self.spare_since = 0.0
        self.opening: threading.Thread | None = None
        self.run_came = threading.Event()

    @contextmanager
    def around_run(self) -> Iterator[None]:
        """Around a run in this process: take the spare, then open the next one."""
        alias = runs_alias() if self.enabled and not self.connection_kept else None
        if alias is None:
            yield
            return
        if connections[alias].connection is not None:
            # Kept from the previous task: this process keeps its connection.
            self.connection_kept = True
            self.close()
            yield
            return
        adopted = self.adopt(alias)
        adopted_at = time.monotonic()
        try:
            yield
        finally:
            if adopted is not None and connections[alias] is adopted:
                give_back_age(adopted, adopted_at)
            self.prepare(alias)

    def adopt(self, alias: str) -> BaseDatabaseWrapper | None:
        """Make the spare this thread's connection to ``alias``, if there is one and it is
        usable: one not begun yet is called off, one being opened is waited for.

        Until the run has ended no ``CONN_MAX_AGE`` closes it (the runner drops obsolete
        connections at its start).
        """
        opening = self.opening
        if opening is None:
            return None
        self.run_came.set()
        opening.join(WAIT_FOR_SPARE)
        if opening.is_alive():
            return None
        self.opening = None
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        if not still_usable(spare, self.spare_since):
            close_quietly(spare)
            return None
        spare.close_at = None
        connections[alias] = spare
        return spare

    def prepare(self, alias: str) -> None:
        """Open and warm the next run's connection on a thread, unless one is on its way."""
        if self.opening is not None:
            return
        # Made here: a connection belongs to the thread that made it (the run's).
        spare = connections.create_connection(alias)
        self.run_came = threading.Event()
        self.opening = threading.Thread(
            target=self._open,
            args=(spare, self.run_came),
            name="eztaskmanager-spare-connection",
            daemon=True,
        )
        self.opening.start()

    def _open(self, spare: BaseDatabaseWrapper, run_came: threading.Event) -> None:
        if run_came.wait(IDLE_FIRST):
            return  # the process is busy: the run opens its own
        spare.inc_thread_sharing()
        try:
            if not open_spare(spare):
                return
            if self.opening is threading.current_thread():
                self.spare, self.spare_since = spare, time.monotonic()
            else:  # closed meanwhile: no one would take it
                close_quietly(spare)
        finally:
            spare.dec_thread_sharing()

    def close(self) -> None:
        """Close the spare (calling it off, or waiting a moment for it to be open; one
        that comes later closes itself)."""
        opening, self.opening = self.opening, None
        if opening is not None:
            self.run_came.set()
            opening.join(WAIT_FOR_SPARE)
        spare, self.spare = self.spare, None
        if spare is not None:
            close_quietly(spare)


def give_back_age(connection: BaseDatabaseWrapper, opened_at: float) -> None:
    """Treat ``connection`` as opened at ``opened_at`` (monotonic), for ``CONN_MAX_AGE``, and
    close it now if that makes it obsolete, as the runner's end would have."""
    max_age: Any = connection.settings_dict["CONN_MAX_AGE"]
    connection.close_at = None if max_age is None else opened_at + max_age
    connection.close_if_unusable_or_obsolete()


def on_worker_process_init(**_kw: Any) -> None:
    """In a prefork pool process, as it starts: its runs get spare connections."""
    spare_connection.enabled = True


def on_worker_process_shutdown(**_kw: Any) -> None:
    """In a prefork pool process, as it leaves: end the spare's session properly."""
    spare_connection.close()


spare_connection = SpareConnection()
