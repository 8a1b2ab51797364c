"""Run Django management commands as asynchronous, scheduled, observable tasks."""

from eztaskmanager.__about__ import __version__

__all__ = ["__version__"]
