"""django-eztaskmanager slack package."""

from eztaskmanager_slack.__about__ import __version__

__all__ = ["__version__"]
