"""The floor: a bare RQ job that calls the probe command itself, without the task manager."""

from django.core.management import call_command


def call_probe(token: str, done_key: str) -> None:
    call_command("memory_probe", token, done_key)
