"""A bare Celery task, without the task manager: the baseline of the dispatch benchmark."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="integration_tests.celery.probe.tasks.call_probe")
def call_probe(key: str) -> None:
    call_command("celery_probe", key)
