from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EzTaskManagerCeleryConfig(AppConfig):
    """The Celery backend's app: the Celery task, and the worker signals that end lost runs."""

    name = "eztaskmanager_celery"
    label = "eztaskmanager_celery"
    verbose_name = _("EZ Task Manager: Celery backend")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the shared task with every Celery app, even without autodiscover_tasks().
        from eztaskmanager_celery import signals, tasks  # noqa: F401

        signals.connect()
