"""A bare RQ job, without the task manager: the baseline of the dispatch benchmark."""

from django.core.management import call_command


def call_probe(key: str) -> None:
    call_command("rq_probe", key)
