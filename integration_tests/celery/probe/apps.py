from django.apps import AppConfig


class ProbeConfig(AppConfig):
    """Commands the Celery fault tests need beyond the core's demo commands."""

    name = "integration_tests.celery.probe"
    label = "celery_probe"
