"""Who may see logs and who may start or stop tasks."""

from __future__ import annotations

from django.http import HttpRequest

VIEW_LOG_PERMISSION = "eztaskmanager.view_launchreport"
RUN_TASK_PERMISSION = "eztaskmanager.run_task"


def is_staff(request: HttpRequest) -> bool:
    """A logged-in, active staff member, as the admin site requires."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def can_view_logs(request: HttpRequest) -> bool:
    return is_staff(request) and request.user.has_perm(VIEW_LOG_PERMISSION)


def can_run_tasks(request: HttpRequest) -> bool:
    return is_staff(request) and request.user.has_perm(RUN_TASK_PERMISSION)
