"""Keep a forked RQ work-horse fast and away from its parent worker's database connections.

RQ's default worker forks one process per job. Three things follow, the first and last
handled by fork hooks registered when this module is imported (in the worker, before it
forks: the system checks build the backend, and the app's ``ready()`` imports it too):

- A connection open in the parent is a socket the child shares: closing it in the
  child (as Django's ``close_old_connections()`` would) can end the *parent's* session.
  So in the child such connections are forgotten, never closed, and Django opens fresh
  ones.
- The worker's own process (it records its heartbeat, ends the run of a killed
  work-horse) closes its connections when it is done with them, so that no fork
  inherits one: :func:`eztaskmanager.services.lookout.between_jobs`. The connection it
  starts runs on while jobs wait (:mod:`eztaskmanager_rq.headstart`) is kept until it
  is idle: its work-horses inherit it, and forget it.
- Django fills its model caches (``_meta`` relation trees, compiled field lookups...) on
  first use. Filled in a work-horse, they die with it, and every run pays for them again
  (measured: 20-40 ms and ~2,900 page faults before the first query of each run). So
  the parent fills them once, by compiling the runner's queries and building the
  connection parameters, without touching the database. It imports the runner (and
  builds the notifiers) once too: imported in a work-horse, a module is imported again
  in the next one.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.db import connections

logger = logging.getLogger(__name__)

# Connections inherited from the parent, kept referenced so that no finaliser closes them
# in the child; the work-horse leaves with os._exit(), which runs no finaliser either.
_inherited: list[Any] = []
_warmed = False


def forget_inherited_connections() -> int:
    """Drop this thread's open database connections without closing them; return how many."""
    forgotten = 0
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        _inherited.append(conn.connection)
        conn.connection = None
        conn.run_on_commit = []
        forgotten += 1
    return forgotten


def warm_orm() -> bool:
    """Fill Django's model caches for the runner's queries, once; return whether it did."""
    global _warmed
    from django.apps import apps

    if _warmed or not apps.ready:
        return False
    _warmed = True
    try:
        from eztaskmanager.models import AppCommand, LaunchReport, Log, Task
        from eztaskmanager.models.run_lifecycle import compile_run_reads
        from eztaskmanager.registry import get_notifiers
        from eztaskmanager.services import runner  # noqa: F401 - imported for the horses
        from eztaskmanager.services.spare_connections import runs_connection

        for model in (AppCommand, Task, LaunchReport, Log):
            model._meta.get_fields()
            model._meta.related_objects  # noqa: B018 - a cached property, filled here
        for queryset in (
            Task.objects.select_related("command").filter(pk=0),
            LaunchReport.objects.filter(task_id=0).order_by("-invocation_datetime"),
            LaunchReport.objects.select_related("task__command").filter(task_id=0, job_id=""),
        ):
            queryset.query.get_compiler(queryset.db).as_sql()
        runs = runs_connection()
        if not runs.features.has_select_for_update:
            # SQLite: the run's reads compile without a connection, so for the handle
            # every work-horse inherits (elsewhere, a spare from the handover brings them).
            compile_run_reads(runs)
        get_notifiers()
        for conn in connections.all():
            # Builds (and caches) what connecting needs, e.g. psycopg's adapters; no I/O.
            conn.get_connection_params()
    except Exception:  # a cache left cold only costs time
        logger.debug("Could not warm the ORM caches before forking", exc_info=True)
    return True


def compile_run_reads_ahead() -> None:
    """Compile the run's reads for this thread's connection handle, which every work-horse
    inherits (its socket is not: each work-horse connects anew), in the worker; never raises.

    A work-horse handed a spare connection finds them compiled on it already; one that
    opens its own (no spare could be opened, or the database is SQLite) compiled them
    itself, about 5 ms of each run. Where reads lock rows (PostgreSQL), compiling them takes an open
    connection, which is closed afterwards.
    """
    from eztaskmanager.models.run_lifecycle import compile_run_reads
    from eztaskmanager.services.lookout import between_jobs
    from eztaskmanager.services.spare_connections import runs_connection

    try:
        with between_jobs():
            compile_run_reads(runs_connection())
    except Exception as exc:  # the database away: each work-horse compiles them
        logger.warning("Could not compile the run's reads ahead: %s", exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=warm_orm, after_in_child=forget_inherited_connections)
