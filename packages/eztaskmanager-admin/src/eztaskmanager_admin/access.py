"""Who may see logs and who may start or stop tasks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from eztaskmanager.models import Task
from eztaskmanager.permissions import allowed_commands, may_run

VIEW_LOG_PERMISSION = "eztaskmanager.view_launchreport"
RUN_TASK_PERMISSION = "eztaskmanager.run_task"


def is_staff(request: HttpRequest) -> bool:
    """A logged-in, active staff member, as the admin site requires."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def can_view_logs(request: HttpRequest) -> bool:
    return is_staff(request) and request.user.has_perm(VIEW_LOG_PERMISSION)


def can_run_tasks(request: HttpRequest) -> bool:
    """The global right to start and stop tasks (``run_task``); each task's command may
    ask more (:func:`may_run_task`)."""
    return is_staff(request) and request.user.has_perm(RUN_TASK_PERMISSION)


def may_run_task(request: HttpRequest, task: Task) -> bool:
    """Whether the request's user may start and stop ``task``: the core's rule
    (:func:`eztaskmanager.permissions.may_run`), for a staff member."""
    return is_staff(request) and may_run(request.user, task)


def runnable_command_ids(request: HttpRequest) -> frozenset[int] | None:
    """The ids of the commands whose groups let the request's user run them, read once per
    request (one query, for a whole list page); ``None``: every command (a superuser).

    The core's rule (:func:`eztaskmanager.permissions.allowed_commands`).
    """
    user = request.user
    if user.is_superuser:
        return None
    cached: Any = request.__dict__.get("_eztm_runnable_commands")
    if cached is None:
        cached = frozenset(allowed_commands(user).values_list("pk", flat=True))
        request.__dict__["_eztm_runnable_commands"] = cached
    return cached


def may_run_command_id(request: HttpRequest, command_id: int) -> bool:
    """Whether a task of the command ``command_id`` may be started by the request's user,
    who has the global right (a list page's row, with no query of its own)."""
    allowed = runnable_command_ids(request)
    return allowed is None or command_id in allowed
