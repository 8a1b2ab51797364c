"""The Start and Stop buttons: POST-only views that hand the task to the queue backend."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskQueueException
from eztaskmanager.models import Task
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin.access import can_run_tasks

logger = logging.getLogger(__name__)


def redirect_back(request: HttpRequest, admin_site_name: str) -> HttpResponseRedirect:
    """Back to the page the button was on (``next``, else the referer), else the task list."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(candidate)
    return HttpResponseRedirect(reverse(f"{admin_site_name}:eztaskmanager_task_changelist"))


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
        get_task_service().add(task)
    except TaskAlreadyRunning:
        messages.warning(request, _("%(task)s is running: stop it first.") % {"task": task})
    except TaskQueueException as exc:
        logger.warning("Could not start task %s: %s", task.pk, exc)
        messages.error(
            request, _("%(task)s was not started: %(error)s") % {"task": task, "error": exc}
        )
    else:
        task.refresh_from_db(fields=["status", "cached_next_ride"])
        if task.status == Task.STATUS_SCHEDULED:
            messages.success(
                request,
                _("%(task)s is scheduled; next run: %(when)s.")
                % {"task": task, "when": task.cached_next_ride},
            )
        else:
            messages.success(request, _("%(task)s was started.") % {"task": task})
    return redirect_back(request, admin_site_name)


@require_POST
def stop_task(
    request: HttpRequest, pk: int, admin_site_name: str = "admin"
) -> HttpResponseRedirect:
    """Cancel the task's schedule and stop its running run, if any."""
    task = _task_for_run(request, pk)
    try:
        get_task_service().stop_task(task, by=request.user.get_username())
    except Exception as exc:
        # The engine's own errors (a Redis client's ConnectionError...) may come through
        # unwrapped: the admin reports them rather than answering with a server error.
        if isinstance(exc, TaskQueueException):
            logger.warning("Could not stop task %s: %s", task.pk, exc)
        else:
            logger.exception("The queue backend failed to stop task %s", task.pk)
        messages.error(
            request, _("%(task)s was not stopped: %(error)s") % {"task": task, "error": exc}
        )
    else:
        messages.success(request, _("%(task)s was stopped.") % {"task": task})
    return redirect_back(request, admin_site_name)
