"""The Celery backend's system checks, run by the core's check through ``CeleryBackend.check()``.

Each says, in words a Django admin understands, what will not work and how to fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery.utils.imports import symbol_by_name
from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning

if TYPE_CHECKING:
    from celery import Celery

    from eztaskmanager.exceptions import TaskQueueException

SCHEDULER_PATH = "eztaskmanager_celery.beat:TaskScheduler"


def app_installed() -> list[CheckMessage]:
    """The package's Django app connects the worker signals that end runs whose process died."""
    if apps.is_installed("eztaskmanager_celery"):
        return []
    return [
        Error(
            '"eztaskmanager_celery" is not in INSTALLED_APPS: without it the Celery workers '
            "do not tell eztaskmanager when a run's process dies or is stopped.",
            hint='Add "eztaskmanager_celery" to INSTALLED_APPS and run migrate.',
            id="eztaskmanager_celery.E001",
        )
    ]


def broker_configured(app: Celery) -> list[CheckMessage]:
    if app.conf.broker_url:
        return []
    return [
        Warning(
            f"The Celery app '{app.main}' has no broker_url: tasks would go to "
            "Celery's default broker (amqp://guest@localhost//).",
            hint="Load your project's Celery app in proj/__init__.py (as Celery's Django "
            'guide shows) or set EZTASKMANAGER["OPTIONS"]["app"] to its dotted path, '
            "and set CELERY_BROKER_URL.",
            id="eztaskmanager_celery.W002",
        )
    ]


def broker_unreachable(error: TaskQueueException) -> list[CheckMessage]:
    return [
        Warning(
            str(error),
            hint="Tasks cannot start until the broker answers: start it (and the "
            "Celery worker and beat), or fix CELERY_BROKER_URL.",
            id="eztaskmanager_celery.W001",
        )
    ]


def beat_scheduler(app: Celery) -> list[CheckMessage]:
    """A plain ``celery beat`` runs the app's ``beat_scheduler``: it must be ours to fire tasks.

    Both schedulers are found by name, as ``celery beat`` finds the one it runs: the beat
    stands above the backend whose ``check()`` runs this, so this module imports neither.
    """
    configured = app.conf.beat_scheduler
    try:
        scheduler = symbol_by_name(configured) if isinstance(configured, str) else configured
    except (ImportError, AttributeError, ValueError):
        scheduler = None
    if isinstance(scheduler, type) and issubclass(scheduler, symbol_by_name(SCHEDULER_PATH)):
        return []
    return [
        Warning(
            f"The Celery app '{app.main}' runs the beat scheduler {configured!r}: with a "
            "plain `celery beat`, scheduled and periodic tasks will not start.",
            hint=f'Set CELERY_BEAT_SCHEDULER = "{SCHEDULER_PATH}", or start the beat with '
            f"`celery -A proj beat -S {SCHEDULER_PATH}` (then silence this warning with "
            'SILENCED_SYSTEM_CHECKS = ["eztaskmanager_celery.W003"]).',
            id="eztaskmanager_celery.W003",
        )
    ]
