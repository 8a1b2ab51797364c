"""The floor: a bare Celery task that calls the probe command itself, without the task manager;
and the tracemalloc jobs of ``tracing.py``."""

from celery import shared_task
from django.core.management import call_command

from benchmarks.memory_probe import tracing


@shared_task(name="benchmarks.memory_probe.tasks.call_probe")
def call_probe(token: str, done_key: str) -> None:
    call_command("memory_probe", token, done_key)


@shared_task(name="benchmarks.memory_probe.tasks.trace_start")
def trace_start(done: str) -> None:
    tracing.start(done)


@shared_task(name="benchmarks.memory_probe.tasks.trace_snapshot")
def trace_snapshot(path: str) -> None:
    tracing.snapshot(path)
