from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerConfig(AppConfig):
    name = "eztaskmanager"
    verbose_name = _("EZ Task Manager")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eztaskmanager import checks, registry  # noqa: F401 - register checks and signals
        from eztaskmanager.services import aftermath
        from eztaskmanager.signals import run_finished

        run_finished.connect(aftermath.after_run, dispatch_uid="eztaskmanager.after_run")
