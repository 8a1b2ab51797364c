"""System checks of the rq backend: Redis reachable, django-rq installed, our worker and scheduler.

The core's one registered check calls :meth:`RQBackend.check`, which yields these.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from eztaskmanager_rq import compat
from eztaskmanager_rq.connection import RedisAccess
from eztaskmanager_rq.scheduler import Scheduler
from eztaskmanager_rq.worker import RecoveringWorkerMixin

WORKER_CLASS = "eztaskmanager_rq.worker.Worker"
SCHEDULER_CLASS = "eztaskmanager_rq.scheduler.Scheduler"


def check_backend(backend: RedisAccess) -> list[CheckMessage]:
    """The checks of the rq backend ``backend``, which reaches Redis as configured."""
    try:
        connection = backend.connection
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="The rq backend needs a Redis connection for its queue.",
                id="eztaskmanager_rq.E001",
            )
        ]
    messages: list[CheckMessage] = []
    try:
        compat.quick_client(connection).ping()
    except (RedisError, OSError) as exc:
        messages.append(
            Warning(
                f"Redis at {backend.describe_connection()} cannot be reached: {exc}",
                hint="Start redis-server, or fix RQ_QUEUES or the rq backend's url option; "
                "tasks cannot start or be scheduled until Redis answers.",
                id="eztaskmanager_rq.W001",
            )
        )
    if backend.queue_config is not None and not apps.is_installed("django_rq"):
        messages.append(
            Warning(
                "RQ_QUEUES is used but django_rq is not in INSTALLED_APPS: the "
                "rqworker and rqscheduler management commands will not exist.",
                hint='Add "django_rq" to INSTALLED_APPS.',
                id="eztaskmanager_rq.W002",
            )
        )
    messages += check_worker_class()
    messages += check_scheduler_class()
    return messages


def check_worker_class() -> list[CheckMessage]:
    """``rqworker`` should run this package's worker, which ends a killed work-horse's run at once."""
    name, found = _configured_class("WORKER_CLASS", "rq.Worker")
    if _is_subclass(found, RecoveringWorkerMixin):
        return []
    return [
        Warning(
            f"rqworker runs with {name}, not {WORKER_CLASS}: a run whose work-horse is "
            "killed (out of memory, kill -9) is ended only once its heartbeat is older "
            'than EZTASKMANAGER["HEARTBEAT_TIMEOUT"] (or by the scheduler\'s check), not '
            "at once, and a worker that starts does not end the runs its predecessor lost.",
            hint=f'Add RQ = {{"WORKER_CLASS": "{WORKER_CLASS}"}} to your settings '
            f"(or start workers with rqworker --worker-class {WORKER_CLASS}).",
            id="eztaskmanager_rq.W003",
        )
    ]


def check_scheduler_class() -> list[CheckMessage]:
    """``rqscheduler`` should run this package's scheduler, which ends lost runs and re-books schedules."""
    name, found = _configured_class("SCHEDULER_CLASS", "django_rq.queues.DjangoScheduler")
    if _is_subclass(found, Scheduler):
        return []
    return [
        Warning(
            f"rqscheduler runs with {name}, not {SCHEDULER_CLASS}: nothing ends the runs "
            "whose worker is gone and nothing books again the schedules Redis lost (a "
            "restart without persistence) on the scheduler's tick; only manage.py "
            "eztaskmanager_resync does, when someone runs it.",
            hint=f'Add RQ = {{"SCHEDULER_CLASS": "{SCHEDULER_CLASS}"}} to your settings '
            "(with WORKER_CLASS in the same dict).",
            id="eztaskmanager_rq.W004",
        )
    ]


def _configured_class(key: str, default: str) -> tuple[str, Any]:
    """The dotted name of ``RQ[key]`` and the class it names (``None`` if it does not import)."""
    value = (getattr(settings, "RQ", None) or {}).get(key, default)
    if not isinstance(value, str):
        return f"{value.__module__}.{value.__qualname__}", value
    try:
        return value, import_string(value)
    except ImportError:
        return f"{value} (which cannot be imported)", None


def _is_subclass(found: Any, base: type) -> bool:
    return isinstance(found, type) and issubclass(found, base)
