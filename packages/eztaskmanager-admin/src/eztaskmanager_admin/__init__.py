"""django-eztaskmanager admin package."""

from eztaskmanager_admin.__about__ import __version__

__all__ = ["__version__"]
