"""Slack notifier for django-eztaskmanager: ``"BACKEND": "slack"`` in ``EZTASKMANAGER["NOTIFIERS"]``."""

from eztaskmanager_slack.__about__ import __version__
from eztaskmanager_slack.notifier import SlackNotifier

# The seed's class name, for code that imported it from this package's predecessor.
SlackNotificationHandler = SlackNotifier

__all__ = ["SlackNotificationHandler", "SlackNotifier", "__version__"]
