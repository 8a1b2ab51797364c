"""django-eztaskmanager rq package."""

from eztaskmanager_rq.__about__ import __version__

__all__ = ["__version__"]
