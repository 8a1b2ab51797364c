"""Keep a forked RQ work-horse away from the database connections of its parent worker.

RQ's default worker forks one process per job. A connection open in the parent at that
moment is a socket the child shares: closing it in the child (as Django's
``close_old_connections()`` would) tells the database server to end the *parent's*
session. So in the child we only forget such connections, never close them, and Django
opens fresh ones. The hook is registered when this module is imported, which happens in
the worker before it forks (system checks build the backend; the app's ``ready()`` too).
"""

from __future__ import annotations

import os
from typing import Any

from django.db import connections

# Connections inherited from the parent, kept referenced so that no finaliser closes them
# in the child; the work-horse leaves with os._exit(), which runs no finaliser either.
_inherited: list[Any] = []


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


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forget_inherited_connections)
