"""Database connections opened ahead of a run, for workers that would otherwise open one
per run.

A worker that closes its database connections between runs (an RQ work-horse dies with
its job; Celery closes them before and after every task unless told not to; the runner
closes them after each run as ``CONN_MAX_AGE = 0`` says) opens a new server session at
each run's start: about 6-7 ms on PostgreSQL over TCP, and its first statements then
fill the server's catalog caches. A spare is that session opened and warmed while the
worker has nothing else to do, for its next run: by the RQ worker for its next
work-horse (``eztaskmanager_rq.handover``), and by a process that runs its runs itself
(a Celery prefork pool process, an RQ ``SimpleWorker``) for its own next run
(:class:`SpareConnection`).

Only for the database the runner writes runs to, and only when it is reached over a
socket (SQLite connections are files, cheap to open, and must not cross a fork). A spare
that idled for :data:`CHECK_AFTER_IDLE` seconds is checked with a round trip before it is
used (the server may have ended it: a restart, an idle timeout); one that cannot be
opened is no error, the run opens its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

# A spare this old (seconds) is checked with a round trip before it is used.
CHECK_AFTER_IDLE = 1.0
# Seconds a process idles after a run before it opens the next run's connection.
IDLE_FIRST = 0.05
# The longest a run waits for a spare being opened (a server slow to answer, or gone):
# then it opens its own, and the spare, if it comes, waits for a later run.
WAIT_FOR_SPARE = 1.0


def runs_connection() -> BaseDatabaseWrapper:
    """This thread's connection to the database the runner writes runs to."""
    from eztaskmanager.models import LaunchReport

    return connections[router.db_for_write(LaunchReport)]


def runs_alias() -> str | None:
    """The database of the runs, if a spare connection to it is worth opening ahead."""
    runs = runs_connection()
    return None if runs.vendor == "sqlite" else runs.alias


def make_own(spare: BaseDatabaseWrapper) -> None:
    """Make ``spare`` this thread's connection to its database, which no ``CONN_MAX_AGE``
    closes (the runner drops obsolete connections at a run's start) until its taker
    gives its age back, or closes it."""
    spare.close_at = None
    connections[spare.alias] = spare


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
    from eztaskmanager.models.run_lifecycle import compile_run_reads

    with connection.cursor() as cursor:
        for sql, params in _table_reads(connection.alias):
            cursor.execute(sql, params)
    compile_run_reads(connection)


@cache
def _table_reads(alias: str) -> tuple[tuple[str, tuple], ...]:
    """A read of no row of each of the runner's tables (the statements :func:`warm`
    plans), written once for the database ``alias``: a worker warms a spare for each
    work-horse."""
    from eztaskmanager.models import AppCommand, LaunchReport, Log, Task

    reads = []
    for model in (LaunchReport, Task, AppCommand, Log):
        queryset = model.objects.using(alias).filter(pk=0)
        sql, params = queryset.query.get_compiler(alias).as_sql()
        reads.append((sql, tuple(params)))
    return tuple(reads)


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


class SpareConnection:
    """The next run's connection of a worker process that runs its runs itself, one at a
    time: opened on a thread once a run has ended and the process has idled
    :data:`IDLE_FIRST` seconds, taken by the next run, whose session still ends with it
    (see :meth:`around_run`). The runs take turns with two connection objects, each one
    opened again once closed: a new one for every spare (and its reads compiled again)
    cost time and left the process's memory fragmented."""

    def __init__(self) -> None:
        # Set by the worker whose process this is (a Celery prefork pool process, an RQ
        # SimpleWorker): not in a web process, nor where runs share the process.
        self.enabled = False
        # The process keeps its connection between runs: it needs no spare.
        self.connection_kept = False
        self.spare: BaseDatabaseWrapper | None = None
        self.spare_since = 0.0
        self.opening: threading.Thread | None = None
        self.run_came = threading.Event()
        # The connection object the thread above opens, and one closed that the next spare
        # opens again (the runs take turns with two): made once, its reads compiled once.
        self.candidate: BaseDatabaseWrapper | None = None
        self.reusable: BaseDatabaseWrapper | None = None

    @contextmanager
    def around_run(self) -> Iterator[None]:
        """Around a run in this process: take the spare, then open the next one.

        A run that comes while the spare waits for the process to idle calls it off and
        opens its own (a burst); one that comes while it is being opened waits for it,
        :data:`WAIT_FOR_SPARE` seconds at most. A process whose connection is still open
        at a run's start keeps its connection between runs and never opens a spare.
        """
        alias = runs_alias() if self.enabled and not self.connection_kept else None
        if alias is None:
            yield
            return
        if connections[alias].connection is not None:
            # Kept from the previous run: this process keeps its connection.
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
        candidate, self.candidate = self.candidate, None
        spare, self.spare = self.spare, None
        if spare is not None and not still_usable(spare, self.spare_since):
            close_quietly(spare)
            spare = None
        if spare is None:
            # Never opened (the process was busy), or closed again: the next spare's.
            self.reusable = candidate if candidate and candidate.connection is None else None
            return None
        # The connection this thread used until now: closed (see around_run), reusable.
        current = connections[alias]
        self.reusable = current if current.connection is None else None
        make_own(spare)
        return spare

    def prepare(self, alias: str) -> None:
        """Open and warm the next run's connection on a thread, unless one is on its way."""
        if self.opening is not None:
            return
        # Made here, or by an earlier run: a connection belongs to the thread that made it
        # (the runs'). Opened again, a closed one keeps its compiled reads.
        spare, self.reusable = self.reusable, None
        if spare is None or spare.alias != alias or spare.connection is not None:
            spare = connections.create_connection(alias)
        self.candidate = spare
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
        self.candidate = self.reusable = None
        spare, self.spare = self.spare, None
        if spare is not None:
            close_quietly(spare)


def give_back_age(connection: BaseDatabaseWrapper, opened_at: float) -> None:
    """Treat ``connection`` as opened at ``opened_at`` (monotonic), for ``CONN_MAX_AGE``, and
    close it now if that makes it obsolete, as the runner's end would have."""
    max_age: Any = connection.settings_dict["CONN_MAX_AGE"]
    connection.close_at = None if max_age is None else opened_at + max_age
    connection.close_if_unusable_or_obsolete()


spare_connection = SpareConnection()
"""This process's spare (see :class:`SpareConnection`)."""
