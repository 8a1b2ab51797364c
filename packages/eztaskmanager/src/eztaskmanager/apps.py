from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from eztaskmanager import checks  # noqa: F401 - registers the system checks
from eztaskmanager.signals import run_finished


class EzTaskManagerConfig(AppConfig):
    name = "eztaskmanager"
    verbose_name = _("EZ Task Manager")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are: the receivers work on them.
        from eztaskmanager import artifacts
        from eztaskmanager.models import AppCommand, Artifact, Task
        from eztaskmanager.services import aftermath, edits

        run_finished.connect(aftermath.after_run, dispatch_uid="eztaskmanager.after_run")
        post_save.connect(
            edits.unschedule_tasks_of_inactive_command,
            sender=AppCommand,
            dispatch_uid="eztaskmanager.unschedule_inactive",
        )
        post_save.connect(
            edits.rearm_edited_schedule, sender=Task, dispatch_uid="eztaskmanager.rearm_edited"
        )
        # Artifact files go with their rows, cascades included (a report pruned, a task deleted).
        post_delete.connect(
            artifacts.delete_artifact_file,
            sender=Artifact,
            dispatch_uid="eztaskmanager.delete_artifact_file",
        )
