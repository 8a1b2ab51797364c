"""django-eztaskmanager email package."""

from eztaskmanager_email.__about__ import __version__

__all__ = ["__version__"]
