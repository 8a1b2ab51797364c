"""django-eztaskmanager celery package."""

from eztaskmanager_celery.__about__ import __version__

__all__ = ["__version__"]
