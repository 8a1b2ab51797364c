"""Bare Celery tasks, without the task manager: the baselines of the dispatch benchmark."""

from celery import shared_task
from django.core.management import call_command

from integration_tests.probe_records import recorded


@shared_task(name="integration_tests.celery.probe.tasks.call_probe")
def call_probe(key: str) -> None:
    call_command("celery_probe", key)


@shared_task(name="integration_tests.celery.probe.tasks.call_probe_recorded")
def call_probe_recorded(key: str, task_id: int) -> None:
    with recorded(task_id):
        call_command("celery_probe", key)
