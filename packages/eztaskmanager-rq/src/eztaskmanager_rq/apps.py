from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerRQConfig(AppConfig):
    """Optional but recommended: fork safety from the worker's start, the job functions
    loaded once in the worker (else each work-horse imports them anew, about 3 ms per
    run), and deleted tasks' scheduled jobs cancelled at once (else they are dropped when
    they fire)."""

    name = "eztaskmanager_rq"
    label = "eztaskmanager_rq"
    verbose_name = _("EZ Task Manager: RQ backend")

    def ready(self) -> None:
        # The fork hook, registered (and the job functions loaded) before the worker forks.
        from eztaskmanager_rq import db, jobs, signals  # noqa: F401

        signals.connect()
