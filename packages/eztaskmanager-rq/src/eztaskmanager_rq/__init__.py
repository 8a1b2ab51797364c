"""RQ queue backend for django-eztaskmanager: tasks run on RQ workers, schedules on rq-scheduler."""

from __future__ import annotations

from typing import Any

from eztaskmanager_rq.__about__ import __version__

__all__ = ["RQBackend", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported lazily: the backend needs Django's app registry, this package may load before it.
    if name == "RQBackend":
        from eztaskmanager_rq.backend import RQBackend

        return RQBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
