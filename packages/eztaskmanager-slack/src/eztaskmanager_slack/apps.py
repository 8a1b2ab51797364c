from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerSlackConfig(AppConfig):
    """The Slack notifier needs no app; listing it in INSTALLED_APPS is harmless."""

    name = "eztaskmanager_slack"
    verbose_name = _("EZ Task Manager: Slack notifier")
