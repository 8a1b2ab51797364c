"""The Start and Stop buttons: POST-only views that hand the task to the queue backend.

They change nothing themselves: the backend's ``add`` and ``stop_task`` do, through the
core's transitions, and these views only say what happened, in the words of its outcome.
A Start that queued a run lands on that run's live log (where the operator wants to be
next); one that booked a schedule goes back to the page the button was on. Start on a
protected task goes to its confirmation page first (:mod:`eztaskmanager_admin.confirm`).

Who may press them: a user with ``run_task`` (else 403) whom the task's command allows
(:mod:`eztaskmanager.permissions`; else the page says so). The service applies the same
rule to the origin it is given, and records who acted.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotAllowed, TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.origins import Origin
from eztaskmanager.services.queues import StopOutcome, get_task_service
from eztaskmanager_admin.access import (
    can_run_tasks,
    can_view_logs,
    may_run_command_id,
    may_run_task,
)
from eztaskmanager_admin.display import local_datetime, log_url
from eztaskmanager_admin.pages import page_url

logger = logging.getLogger(__name__)


def redirect_back(
    request: HttpRequest, admin_site_name: str, back: str = ""
) -> HttpResponseRedirect:
    """Back to the page the button was on (``next``, else ``back``, else the referer), else
    the task list."""
    for candidate in (request.POST.get("next"), back, request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(candidate)
    return HttpResponseRedirect(page_url(admin_site_name, Task, "changelist"))


def task_for_run(request: HttpRequest, pk: int) -> Task:
    if not can_run_tasks(request):
        raise PermissionDenied(_("You may not start or stop tasks."))
    return get_object_or_404(Task.objects.select_related("command"), pk=pk)


def not_allowed_message(task: Task) -> str:
    """Why a user with ``run_task`` may not start or stop ``task``: its command's groups."""
    return _("You may not start or stop %(task)s: its command %(command)s is for other groups.") % {
        "task": task,
        "command": task.command,
    }


def refused(request: HttpRequest, task: Task) -> bool:
    """Say so and return True when the request's user may not run ``task``."""
    if may_run_task(request, task):
        return False
    messages.error(request, not_allowed_message(task))
    return True


def back_to(request: HttpRequest) -> str:
    """The page to go back to after a confirmation: ``next``, else the referer (checked later)."""
    return request.POST.get("next") or request.META.get("HTTP_REFERER") or ""


@require_POST
def start_task(
    request: HttpRequest, pk: int, admin_site_name: str = "admin"
) -> HttpResponseRedirect:
    """Start the task now, or schedule it when its scheduling fields ask for later; a
    protected task goes to its confirmation page first."""
    task = task_for_run(request, pk)
    if refused(request, task):
        return redirect_back(request, admin_site_name)
    if task.protected:
        url = page_url(admin_site_name, Task, "confirm_start", task.pk)
        nxt = back_to(request)
        return HttpResponseRedirect(f"{url}?{urlencode({'next': nxt})}" if nxt else url)
    return start_now(request, task, admin_site_name)


def start_now(
    request: HttpRequest, task: Task, admin_site_name: str, back: str = ""
) -> HttpResponseRedirect:
    """Hand ``task`` to the service on behalf of the request's user; say what became of it.

    Then the run's live log, or the page the user came from (``back`` when no other).
    """
    try:
        report = get_task_service().add(task, by=Origin.of_request(request))
    except TaskAlreadyRunning as exc:
        messages.warning(request, str(exc))
        # The run that is going on: follow it rather than start another.
        report = task.active_runs().order_by("-invocation_datetime").first()
    except TaskNotAllowed:  # the groups changed since the check
        messages.error(request, not_allowed_message(task))
        report = None
    except TaskQueueException as exc:
        logger.warning("Could not start task %s: %s", task.pk, exc)
        messages.error(
            request, _("%(task)s was not started: %(error)s") % {"task": task, "error": exc}
        )
        report = None
    else:
        messages.success(request, start_message(task, report))
    if report is not None and can_view_logs(request):
        return HttpResponseRedirect(log_url(admin_site_name, report.pk, live=True))
    return redirect_back(request, admin_site_name, back)


def start_message(task: Task, report: LaunchReport | None) -> str:
    """What Start did: a run queued (no worker has it yet) or started, or a schedule booked."""
    if report is None:
        if task.cached_next_ride is None:
            return _("%(task)s is scheduled.") % {"task": task}
        return _("%(task)s is scheduled; next run: %(when)s.") % {
            "task": task,
            "when": local_datetime(task.cached_next_ride),
        }
    report.refresh_from_db(fields=["state"])
    if report.state == LaunchReport.STATE_QUEUED:
        return _("%(task)s was queued: it starts when a worker takes it.") % {"task": task}
    return _("%(task)s was started.") % {"task": task}


@require_POST
def stop_task(
    request: HttpRequest, pk: int, admin_site_name: str = "admin"
) -> HttpResponseRedirect:
    """Stop the task's runs (queued or going on), then cancel its schedule."""
    task = task_for_run(request, pk)
    if refused(request, task):
        return redirect_back(request, admin_site_name)
    try:
        outcome = get_task_service().stop_task(task, by=Origin.of_request(request))
    except TaskNotAllowed:
        messages.error(request, not_allowed_message(task))
    except TaskQueueException as exc:
        logger.warning("Could not stop task %s: %s", task.pk, exc)
        messages.error(
            request, _("%(task)s was not stopped: %(error)s") % {"task": task, "error": exc}
        )
    else:
        level, text = stop_message(task, outcome)
        messages.add_message(request, level, text)
    return redirect_back(request, admin_site_name)


def stop_message(task: Task, outcome: StopOutcome) -> tuple[int, str]:
    """The message level and words of a Stop's outcome.

    A run still ``stopping`` is a warning: its command has not stopped yet (its report
    will say ``stopped`` once it has), so the operator should look again.
    """
    names = {"task": task}
    if outcome.nothing:
        return messages.INFO, _("%(task)s had nothing to stop.") % names
    if outcome.stopping:
        level, text = messages.WARNING, _("%(task)s is stopping.") % names
    elif outcome.stopped:
        level, text = messages.SUCCESS, _("%(task)s was stopped.") % names
    else:
        return messages.SUCCESS, _("%(task)s's schedule was cancelled.") % names
    if outcome.unscheduled:
        text = f"{text} {_('Its schedule was cancelled.')}"
    return level, text


def start_selected(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Task]) -> None:
    """The list's bulk action: Start each selected task, saying what became of each.

    Tasks the user may not run are named and left alone, and so are protected ones: each
    is started from its own confirmation page, linked from the message.
    """
    service = get_task_service()
    origin = Origin.of_request(request)
    site = modeladmin.admin_site.name
    for task in queryset.select_related("command"):
        if not may_run_command_id(request, task.command_id):
            messages.error(request, not_allowed_message(task))
            continue
        if task.protected:
            messages.warning(
                request,
                format_html(
                    _('{task} is protected: it was not started. <a href="{url}">Confirm it</a>.'),
                    task=task,
                    url=page_url(site, Task, "confirm_start", task.pk),
                ),
            )
            continue
        try:
            report = service.add(task, by=origin)
        except TaskAlreadyRunning as exc:
            messages.warning(request, str(exc))
        except TaskNotAllowed:
            messages.error(request, not_allowed_message(task))
        except TaskQueueException as exc:
            messages.error(
                request, _("%(task)s was not started: %(error)s") % {"task": task, "error": exc}
            )
        else:
            messages.success(request, start_message(task, report))


def stop_selected(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Task]) -> None:
    """The list's bulk action: Stop each selected task, saying what became of each (tasks
    the user may not run are named and left alone)."""
    service = get_task_service()
    origin = Origin.of_request(request)
    for task in queryset.select_related("command"):
        if not may_run_command_id(request, task.command_id):
            messages.error(request, not_allowed_message(task))
            continue
        try:
            outcome = service.stop_task(task, by=origin)
        except TaskNotAllowed:
            messages.error(request, not_allowed_message(task))
        except TaskQueueException as exc:
            messages.error(
                request, _("%(task)s was not stopped: %(error)s") % {"task": task, "error": exc}
            )
        else:
            messages.add_message(request, *stop_message(task, outcome))
