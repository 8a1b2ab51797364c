"""Create tasks in tests without going through the admin."""

from __future__ import annotations

from typing import Any

from eztaskmanager.models import AppCommand, Task


def make_task(
    command: str, arguments: str = "", app_name: str = "eztaskmanager", **fields: Any
) -> Task:
    """A saved task running ``command`` (its AppCommand is created when missing)."""
    app_command, _ = AppCommand.objects.get_or_create(
        name=command, app_name=app_name, defaults={"active": True}
    )
    fields.setdefault("name", f"{command} task")
    return Task.objects.create(command=app_command, arguments=arguments, **fields)
