"""The Start and Stop buttons: POST-only views that hand the task to the queue backend.

They change nothing themselves: the backend's ``add`` and ``stop_task`` do, through the
core's transitions, and these views only say what happened, in the words of its outcome.
A Start that queued a run lands on that run's live log (where the operator wants to be
next); one that booked a schedule goes back to the page the button was on.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.services.queues import StopOutcome, get_task_service
from eztaskmanager_admin.access import can_run_tasks, can_view_logs
from eztaskmanager_admin.display import local_datetime, log_url
from eztaskmanager_admin.pages import page_url

logger = logging.getLogger(__name__)


def redirect_back(request: HttpRequest, admin_site_name: str) -> HttpResponseRedirect:
    """Back to the page the button was on (``next``, else the referer), else the task list."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(candidate)
    return HttpResponseRedirect(page_url(admin_site_name, Task, "changelist"))


def _task_for_run(request: HttpRequest, pk: int) -> Task:
    if not can_run_tasks(request):
        raise PermissionDenied(_("You may not start or stop tasks."))
    return get_object_or_404(Task.objects.select_related("command"), pk=pk)


@require_POST
def start_task(
    request: HttpRequest, pk: int, admin_site_name: str = "admin"
) -> HttpResponseRedirect:
    """Start the task now, or schedule it when its scheduling fields ask for later."""
    task = _task_for_run(request, pk)
    try:
        report = get_task_service().add(task)
    except TaskAlreadyRunning as exc:
        messages.warning(request, str(exc))
        # The run that is going on: follow it rather than start another.
        report = task.active_runs().order_by("-invocation_datetime").first()
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
    return redirect_back(request, admin_site_name)


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
    task = _task_for_run(request, pk)
    try:
        outcome = get_task_service().stop_task(task, by=request.user.get_username())
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
    """The list's bulk action: Start each selected task, saying what became of each."""
    service = get_task_service()
    for task in queryset.select_related("command"):
        try:
            report = service.add(task)
        except TaskAlreadyRunning as exc:
            messages.warning(request, str(exc))
        except TaskQueueException as exc:
            messages.error(
                request, _("%(task)s was not started: %(error)s") % {"task": task, "error": exc}
            )
        else:
            messages.success(request, start_message(task, report))


def stop_selected(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Task]) -> None:
    """The list's bulk action: Stop each selected task, saying what became of each."""
    service = get_task_service()
    for task in queryset:
        try:
            outcome = service.stop_task(task, by=request.user.get_username())
        except TaskQueueException as exc:
            messages.error(
                request, _("%(task)s was not stopped: %(error)s") % {"task": task, "error": exc}
            )
        else:
            messages.add_message(request, *stop_message(task, outcome))
