"""Bare RQ jobs, without the task manager: the baselines of the dispatch benchmark."""

from django.core.management import call_command

from integration_tests.probe_records import recorded


def call_probe(key: str) -> None:
    call_command("rq_probe", key)


def call_probe_recorded(key: str, task_id: int) -> None:
    with recorded(task_id):
        call_command("rq_probe", key)
