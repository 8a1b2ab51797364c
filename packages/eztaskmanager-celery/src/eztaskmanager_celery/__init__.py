"""Celery backend and beat scheduler for django-eztaskmanager.

``EZTASKMANAGER = {"BACKEND": "celery"}`` selects :class:`CeleryBackend`; run the beat
with ``celery -A proj beat -S eztaskmanager_celery.beat:TaskScheduler``.
"""

from __future__ import annotations

from typing import Any

from eztaskmanager_celery.__about__ import __version__

__all__ = ["CeleryBackend", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy: Django imports this package while loading INSTALLED_APPS, before models exist.
    if name == "CeleryBackend":
        from eztaskmanager_celery.backend import CeleryBackend

        return CeleryBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
