from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerEmailConfig(AppConfig):
    """The email notifier needs no app; listing it in INSTALLED_APPS is harmless.

    As an app, its template ``eztaskmanager_email/notification.html`` is found by the
    project's template loaders too (a project's own copy still wins).
    """

    name = "eztaskmanager_email"
    verbose_name = _("EZ Task Manager: email notifier")
