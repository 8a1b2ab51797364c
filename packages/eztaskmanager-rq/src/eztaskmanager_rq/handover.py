"""A database connection opened by the worker ahead of time, for its next work-horse.

A forked work-horse starts with no database connection (:mod:`eztaskmanager_rq.db`), so
every run used to open one before it could mark itself started: a new server session
(about 6 ms on PostgreSQL over TCP, more under load) whose first statements also fill
the server's catalog caches. That was most of the time from a job's start to its
command's first line.

So this package's forking :class:`~eztaskmanager_rq.worker.Worker` opens the next
work-horse's connection while the current one runs (the worker only waits for it
meanwhile) or, when that failed, once it has no work waiting; warms it with the runner's
statements (no rows read or written; the runner's reads are compiled for it, which
would otherwise happen in every work-horse), and gives it to the work-horse as it forks.
The worker's copy of that connection is only closed once the work-horse has ended, so
the session stays the work-horse's for its whole life; the worker only uses it before
the fork, for the run's head start (:mod:`eztaskmanager_rq.headstart`).

Only for databases reached over a socket (not SQLite, whose connections must not cross a
fork) and only for the database that the runner writes runs to
(:mod:`eztaskmanager.services.spare_connections`). A spare the server has ended meanwhile
(a restart, an idle timeout) is dropped before the fork once it has idled a second, and
the work-horse connects by itself; one ended later makes the run's start try again on a
new connection. One that cannot be opened is no error either.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connections

from eztaskmanager.models.prepared import never_prepare
from eztaskmanager.services.spare_connections import (
    close_quietly,
    make_own,
    open_spare,
    runs_alias,
    still_usable,
)


class ConnectionHandover:
    """The spare connection of one forking worker (see the module's docstring)."""

    def __init__(self) -> None:
        self.spare: Any = None  # a DatabaseWrapper, connected and warm
        self.spare_since = 0.0
        self.armed: Any = None  # the spare the next fork hands over
        self.handed: list[Any] = []  # handed over, closed once the work-horse has ended
        # One of those, closed: opened again for a later work-horse, with the run's reads
        # compiled for it already (compiling them took a third of a spare's opening).
        self.reusable: Any = None

    def prepare(self) -> None:
        """Open and warm a spare connection, unless one is ready; never raises."""
        if self.spare is not None:
            return
        alias = runs_alias()
        if alias is None:
            return
        spare, self.reusable = self.reusable, None
        if spare is None or spare.alias != alias:
            spare = connections.create_connection(alias)
        if open_spare(spare):
            # Used by the worker (the head start), then by the work-horse.
            never_prepare(spare)
            self.spare, self.spare_since = spare, time.monotonic()

    def arm(self) -> None:
        """Make the next fork hand the spare over, if one is ready (checked if it waited).

        None is opened here: that would cost the work-horse as much as opening its own.
        """
        if self.spare is not None and not still_usable(self.spare, self.spare_since):
            self._discard_spare()
        self.armed = self.spare

    def adopt(self) -> None:
        """In the work-horse, right after the fork: take the armed connection as its own.

        It lives as long as the work-horse (no ``CONN_MAX_AGE`` closes it at the run's
        start), and is ended by the worker once the work-horse has gone.
        """
        spare, self.spare, self.armed, self.handed = self.armed, None, None, []
        if spare is not None:
            make_own(spare)

    def after_fork(self) -> None:
        """In the worker, right after the fork: the armed connection is the work-horse's now."""
        if self.armed is not None:
            self.handed.append(self.armed)
            self.spare = self.armed = None

    def release(self) -> None:
        """In the worker, once the work-horse has ended: close its connection's copy here."""
        handed, self.handed = self.handed, []
        for connection in handed:
            close_quietly(connection)
            if connection.connection is None:
                self.reusable = connection

    def close(self) -> None:
        """Close everything, the spare too (the worker is leaving)."""
        self.release()
        self._discard_spare()
        self.reusable = None

    def _discard_spare(self) -> None:
        spare, self.spare, self.armed = self.spare, None, None
        if spare is not None:
            close_quietly(spare)


handover = ConnectionHandover()
