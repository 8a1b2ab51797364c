"""Create commands and tasks in tests without going through the admin.

:func:`make_task` is what every package's ``task`` fixture (:mod:`testsupport.fixtures`)
calls: ``task()`` is a quick run of the core's live-logging command,
``task("test_stdout_command", "--lines=2")`` runs another command, and any model field
goes as a keyword (``task(name="nightly", scheduling=...)``, ``task(command=an_app_command)``).
"""

from __future__ import annotations

from typing import Any

from eztaskmanager.models import AppCommand, Task

LIVE = "test_livelogging_command"
# What a task runs when a test names no command: three lines, at once.
QUICK_ARGUMENTS = "--limit=3,--sleep=0"


def make_command(
    name: str = LIVE, app_name: str = "eztaskmanager", active: bool = True
) -> AppCommand:
    """The collected command ``name`` of ``app_name``, created (``active`` or not) when missing."""
    command, _created = AppCommand.objects.get_or_create(
        name=name, app_name=app_name, defaults={"active": active}
    )
    return command


def make_task(
    command: str | AppCommand | None = None,
    arguments: str | None = None,
    app_name: str = "eztaskmanager",
    **fields: Any,
) -> Task:
    """A saved task running ``command``: a name (its command created active when missing),
    an :class:`AppCommand`, or none for a quick run of :data:`LIVE`."""
    if command is None:
        command = LIVE
        arguments = QUICK_ARGUMENTS if arguments is None else arguments
    if isinstance(command, str):
        command = make_command(command, app_name)
    fields.setdefault("name", f"{command.name} task")
    return Task.objects.create(command=command, arguments=arguments or "", **fields)
