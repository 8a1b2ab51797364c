"""Email notifier for django-eztaskmanager: ``"BACKEND": "email"`` in ``EZTASKMANAGER["NOTIFIERS"]``."""

from eztaskmanager_email.__about__ import __version__
from eztaskmanager_email.notifier import EmailNotifier

# The seed's class name, for code that imported it from this package's predecessor.
EmailNotificationHandler = EmailNotifier

__all__ = ["EmailNotificationHandler", "EmailNotifier", "__version__"]
