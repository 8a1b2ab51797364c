from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerRQConfig(AppConfig):
    """Optional app: installing it makes worker processes fork-safe from the start."""

    name = "eztaskmanager_rq"
    label = "eztaskmanager_rq"
    verbose_name = _("EZ Task Manager: RQ backend")

    def ready(self) -> None:
        from eztaskmanager_rq import db  # noqa: F401 - registers the fork hook in the worker
