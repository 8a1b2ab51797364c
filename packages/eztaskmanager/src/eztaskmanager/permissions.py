"""Who may run which task, and whose reports a user may see: one rule for the admin, the
API and the schedulers.

- Starting or stopping a task needs the ``eztaskmanager.run_task`` permission and, when
  the task's command names groups (``AppCommand.allowed_groups``), membership of one of
  them. Superusers may run everything.
- Reports of runs a user did not start are visible only with the
  ``eztaskmanager.view_all_reports`` permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from eztaskmanager.exceptions import TaskNotAllowed

if TYPE_CHECKING:
    from eztaskmanager.models import AppCommand, LaunchReport, Task

RUN_PERMISSION = "eztaskmanager.run_task"
VIEW_ALL_PERMISSION = "eztaskmanager.view_all_reports"


def command_allows(user: Any, command: AppCommand) -> bool:
    """Whether ``user``'s groups let them run ``command`` (the global permission aside)."""
    if user.is_superuser:
        return True
    allowed = command.allowed_groups.values_list("pk", flat=True)
    if not allowed.exists():
        return True
    return user.groups.filter(pk__in=allowed).exists()


def allowed_commands(user: Any) -> QuerySet[AppCommand]:
    """The commands whose groups let ``user`` run them (:func:`command_allows` for a whole
    list at once, in one query): those with no groups, and those naming one of theirs."""
    from eztaskmanager.models import AppCommand

    commands = AppCommand.objects.all()
    if user.is_superuser:
        return commands
    restricted = AppCommand.allowed_groups.through.objects.filter(appcommand=OuterRef("pk"))
    theirs = restricted.filter(group__in=user.groups.values("pk"))
    return commands.filter(~Exists(restricted) | Exists(theirs))


def may_run(user: Any, task: Task) -> bool:
    """Whether ``user`` may start and stop ``task``: the global permission and the command's groups."""
    if user is None or not user.is_active:
        return False
    return user.has_perm(RUN_PERMISSION) and command_allows(user, task.command)


def check_run(user: Any, task: Task) -> None:
    """Raise :class:`TaskNotAllowed` unless ``user`` may start and stop ``task``."""
    if not may_run(user, task):
        name = user.get_username() if user is not None else _("nobody")
        raise TaskNotAllowed(
            _("%(user)s may not run %(task)s (command %(command)s).")
            % {"user": name, "task": task, "command": task.command}
        )


def sees_all_reports(user: Any) -> bool:
    return user.is_active and user.has_perm(VIEW_ALL_PERMISSION)


def only_runs_of(user: Any) -> Any:
    """The id of the user whose runs' reports are all that ``user`` may see (their own),
    ``None`` when they may see every report.

    Raises ``PermissionDenied`` for an anonymous user, who may see none: their id
    (``None``) would otherwise read as "every report".
    """
    if sees_all_reports(user):
        return None
    if user.pk is None:
        raise PermissionDenied(_("Log in to read the reports of your runs."))
    return user.pk


def visible_reports(user: Any, reports: QuerySet[LaunchReport]) -> QuerySet[LaunchReport]:
    """The reports among ``reports`` that ``user`` may see: all of them, those of their
    runs, or none (an anonymous user)."""
    try:
        owner = only_runs_of(user)
    except PermissionDenied:
        return reports.none()
    return reports if owner is None else reports.filter(started_by_id=owner)


def may_see_report(user: Any, report: LaunchReport) -> bool:
    return sees_all_reports(user) or (user.pk is not None and report.started_by_id == user.pk)
