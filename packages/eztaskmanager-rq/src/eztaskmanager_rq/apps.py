from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerRQConfig(AppConfig):
    """Optional app: installing it makes worker processes fork-safe from the start."""

    name = "eztaskmanager_rq"
    label = "eztaskmanager_rq"
    verbose_name = _("EZ Task Manager: RQ backend")

    def ready(self) -> None:
        # The fork hook, registered (and the job functions loaded) before the worker forks.
        from eztaskmanager_rq import db, jobs  # noqa: F401
