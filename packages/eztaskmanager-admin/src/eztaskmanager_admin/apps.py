"""Django app config of the admin UI; add it to INSTALLED_APPS after "eztaskmanager"."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerAdminConfig(AppConfig):
    name = "eztaskmanager_admin"
    verbose_name = _("Task manager admin")
