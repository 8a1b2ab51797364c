"""How the rq backend reaches Redis: the client, queue and scheduler, errors, the per-task lock.

Kept apart from :mod:`eztaskmanager_rq.backend`, which only translates between RQ and
the core: this module knows where Redis is and what to tell a user when it is not there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext as _
from redis import Redis
from redis.exceptions import LockError, RedisError
from rq import Queue

from eztaskmanager import registry
from eztaskmanager.services.queues import TaskQueueException
from eztaskmanager_rq import compat

if TYPE_CHECKING:
    from eztaskmanager.models import Task

logger = logging.getLogger(__name__)

URL_SCHEMES = ("redis://", "rediss://", "unix://")
# How long a start may hold a task's lock, and how long another start waits for it.
LOCK_SECONDS = 60
LOCK_WAIT_SECONDS = 15
# The tasks whose lock this thread holds.
_held = threading.local()


class RedisAccess:
    """The Redis side of the backend: set ``queue_name`` and ``url`` before use."""

    queue_name: str
    url: str | None
    # The client this backend made from ``url`` (django-rq's are django-rq's to close).
    own_client: Redis | None = None

    @property
    def queue_config(self) -> dict[str, Any] | None:
        """This queue's entry in django-rq's ``RQ_QUEUES``, if it has one."""
        return queue_config_of(self.queue_name)

    @cached_property
    def connection(self) -> Redis:
        """The Redis client: django-rq's for a queue in ``RQ_QUEUES``, else one from ``url``."""
        if self.queue_config is not None:
            from django_rq.queues import get_connection

            return get_connection(self.queue_name)
        if self.url:
            self.own_client = Redis.from_url(self.url, socket_connect_timeout=5)
            return self.own_client
        raise ImproperlyConfigured(
            f"rq: the queue '{self.queue_name}' is not in RQ_QUEUES and no 'url' option is set. "
            f'Add RQ_QUEUES = {{"{self.queue_name}": {{"URL": "redis://localhost:6379/0"}}}} '
            'to your settings, or set EZTASKMANAGER["OPTIONS"]["url"].'
        )

    @cached_property
    def queue(self) -> Queue:
        return Queue(self.queue_name, connection=self.connection)

    def queue_named(self, name: str) -> Queue:
        """The RQ queue ``name`` on this backend's Redis (where every job of it is looked for)."""
        return self.queue if name == self.queue_name else Queue(name, connection=self.connection)

    @cached_property
    def same_redis_queues(self) -> list[str]:
        """This backend's queue, then the other ``RQ_QUEUES`` on the same Redis server and db.

        A queue on another Redis is left out: a run's job, the schedules and the task
        locks are looked for on this backend's Redis only.
        """
        others = [
            name for name in getattr(settings, "RQ_QUEUES", None) or {} if name != self.queue_name
        ]
        if not others:
            return [self.queue_name]
        try:
            here = redis_address(self.connection)
        except ImproperlyConfigured:
            return [self.queue_name]
        from django_rq.queues import get_connection

        return [self.queue_name, *(n for n in others if redis_address(get_connection(n)) == here)]

    @cached_property
    def scheduler(self) -> compat.Scheduler:
        """rq-scheduler's client, to book jobs (its loop is ``manage.py rqscheduler``)."""
        return compat.Scheduler(queue_name=self.queue_name, connection=self.connection)

    def close(self) -> None:
        """Forget the clients, and close the one made from ``url`` (when the settings change)."""
        for name in ("connection", "queue", "scheduler", "same_redis_queues"):
            self.__dict__.pop(name, None)
        client, self.own_client = self.own_client, None
        if client is not None:
            client.close()

    def describe_connection(self) -> str:
        """Where Redis is expected, for error messages (never with the password)."""
        try:
            kwargs = self.connection.connection_pool.connection_kwargs
        except ImproperlyConfigured:
            return "(not configured)"
        if kwargs.get("path"):
            return f"unix://{kwargs['path']}"
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

    @contextmanager
    def reaching_redis(self, action: str) -> Iterator[None]:
        """Turn Redis errors into a :class:`TaskQueueException` that says what to fix."""
        try:
            yield
        except ImproperlyConfigured as exc:
            raise TaskQueueException(
                _("Could not %(action)s: %(error)s") % {"action": action, "error": exc}
            ) from exc
        except (RedisError, OSError) as exc:
            raise TaskQueueException(
                _(
                    "Could not %(action)s: Redis at %(where)s cannot be reached (%(error)s). "
                    "Start redis-server, or fix RQ_QUEUES / the rq backend's url option."
                )
                % {"action": action, "where": self.describe_connection(), "error": exc}
            ) from exc

    def fetch_job(self, job_id: str) -> compat.Job | None:
        """The job ``job_id``, or ``None`` when Redis no longer has it."""
        try:
            return compat.Job.fetch(job_id, connection=self.connection)
        except compat.NoSuchJobError:
            return None

    @contextmanager
    def task_lock(self, task: Task, action: str = "") -> Iterator[None]:
        """A Redis lock per task, so that two starts (or a start and a stop) never leave two
        scheduled jobs. Re-entrant in one thread: a start holds it while it unschedules."""
        held = _held.__dict__.setdefault("tasks", set())
        if task.pk in held:
            yield
            return
        with self.reaching_redis(action or _("start %(task)s") % {"task": task}):
            lock = self.connection.lock(
                f"eztaskmanager:lock:task:{task.pk}",
                timeout=LOCK_SECONDS,
                blocking_timeout=LOCK_WAIT_SECONDS,
            )
            acquired = lock.acquire()
        if not acquired:
            raise TaskQueueException(
                _("%(task)s is being started or stopped by someone else; try again.")
                % {"task": task}
            )
        held.add(task.pk)
        try:
            yield
        finally:
            held.discard(task.pk)
            try:
                lock.release()
            except (LockError, RedisError):
                logger.warning("Could not release the start lock of task %s", task.pk)


def queue_config_of(name: str) -> dict[str, Any] | None:
    """The entry of queue ``name`` in django-rq's ``RQ_QUEUES``, if it has one."""
    return (getattr(settings, "RQ_QUEUES", None) or {}).get(name)


def redis_address(client: Redis) -> tuple[Any, ...]:
    """Which Redis server and database ``client`` talks to (its socket path, host, port, db)."""
    kwargs = client.connection_pool.connection_kwargs
    return (kwargs.get("path"), kwargs.get("host"), kwargs.get("port"), kwargs.get("db", 0))


@receiver(setting_changed)
def _forget_backends_on_rq_queues_changed(*, setting: str, **kwargs: Any) -> None:
    """The backends read ``RQ_QUEUES`` once (connections, the queues a task may name): a
    changed one (``override_settings`` in tests) builds them again, as a changed
    ``EZTASKMANAGER`` does."""
    if setting == "RQ_QUEUES":
        registry.reset()
