"""How the celery backend reaches the broker: the Celery app, connections that give up in time, revoke.

Kept apart from :mod:`eztaskmanager_celery.backend`, which only translates between Celery
and the core: this module knows which app and broker to use, and what to tell a user
when the broker does not answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from celery import Celery, current_app
from celery.utils.imports import symbol_by_name
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from eztaskmanager.exceptions import InvalidOptions
from eztaskmanager.services.queues import TaskQueueException

if TYPE_CHECKING:
    from kombu import Connection
    from kombu.connection import ConnectionPool

# Guards the creation of the connection pools (web servers publish from many threads).
_pools_lock = threading.Lock()


def load_app(app: str | Celery | None) -> Celery:
    """The Celery app: an instance, a dotted path (``proj.celery:app``) or the current one."""
    if app is None:
        return current_app._get_current_object()
    if isinstance(app, Celery):
        return app
    expected = "celery: 'app' must be a Celery app or its dotted path"
    try:
        loaded = symbol_by_name(app)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidOptions(f"{expected}; {app!r} does not import: {exc}") from exc
    if not isinstance(loaded, Celery):
        raise InvalidOptions(f"{expected}; {app!r} is a {type(loaded).__name__}.")
    return loaded


class BrokerAccess:
    """The broker side of the backend: set ``app``, ``connect_timeout`` and ``stop_signal``."""

    app: Celery
    connect_timeout: float
    stop_signal: str
    # This process's broker connections by app, kept from one publish to the next.
    _pools: dict[tuple[int, int], tuple[Celery, ConnectionPool]]

    # A publish on a kept connection that the broker dropped meanwhile is sent again once,
    # on a new connection; a broker that is down fails within ``connect_timeout``.
    PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}

    def connection_pool(self, app: Celery) -> ConnectionPool:
        """The broker connections of ``app`` in this process (a forked child makes its own)."""
        key = (os.getpid(), id(app))
        with _pools_lock:
            pools = self.__dict__.setdefault("_pools", {})
            if key not in pools:
                first = app.connection_for_write(connect_timeout=self.connect_timeout)
                pools[key] = (app, first.Pool(limit=app.conf.broker_pool_limit))
            return pools[key][1]

    @contextmanager
    def connection(self, app: Celery | None = None, max_retries: int = 1) -> Iterator[Connection]:
        """A broker connection that gives up after ``connect_timeout``, with a clear error.

        Taken from this process's pool and given back after: connecting anew for each
        start cost more than the publish itself.
        """
        app = app or self.app
        conn = self.connection_pool(app).acquire(block=True)
        errors = (OperationalError, OSError, *conn.connection_errors)
        try:
            conn.ensure_connection(
                max_retries=max_retries,
                interval_start=0,
                interval_step=0.2,
                timeout=self.connect_timeout,
            )
            yield conn
        except errors as exc:
            conn.collect()  # not kept: the next one connects afresh
            raise TaskQueueException(
                _(
                    "Cannot reach the Celery broker at %(url)s (%(error)s). Start the broker, "
                    "or fix the Celery app's broker_url (CELERY_BROKER_URL in the settings)."
                )
                % {"url": maybe_sanitize_url(conn.as_uri(include_password=True)), "error": exc}
            ) from exc
        finally:
            conn.release()

    def close(self) -> None:
        """Close this process's kept broker connections (when the settings change)."""
        with _pools_lock:
            pools = self.__dict__.pop("_pools", {})
        for (pid, _app_id), (_app, pool) in pools.items():
            if pid == os.getpid():
                pool.force_close_all()

    def revoke(self, job_id: str, terminate: bool) -> None:
        """Tell the workers to drop the job, and with ``terminate`` to kill its process."""
        with self.connection() as conn:
            self.app.control.revoke(
                job_id, terminate=terminate, signal=self.stop_signal, connection=conn
            )
