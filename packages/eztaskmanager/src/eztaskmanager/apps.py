from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerConfig(AppConfig):
    name = "eztaskmanager"
    verbose_name = _("EZ Task Manager")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from eztaskmanager import checks, registry  # noqa: F401 - register checks and signals
        from eztaskmanager.models import AppCommand
        from eztaskmanager.services import aftermath, deactivation
        from eztaskmanager.signals import run_finished

        run_finished.connect(aftermath.after_run, dispatch_uid="eztaskmanager.after_run")
        post_save.connect(
            deactivation.unschedule_tasks_of_inactive_command,
            sender=AppCommand,
            dispatch_uid="eztaskmanager.unschedule_inactive",
        )
