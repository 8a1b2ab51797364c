"""The floor: a bare Celery task that calls the probe command itself, without the task manager."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="benchmarks.memory_probe.tasks.call_probe")
def call_probe(token: str, done_key: str) -> None:
    call_command("memory_probe", token, done_key)
