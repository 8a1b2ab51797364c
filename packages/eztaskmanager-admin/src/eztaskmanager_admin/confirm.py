"""The confirmation of Start on a protected task (as JobControl's "arming").

A protected task is one whose run is costly to get wrong: Start (the task page's button,
the list's, the bulk action) leads here first, to a page that names the command and the
arguments it would run with (its secret ones as ``***``), and only its Confirm button
starts it. Everyone confirms, superusers too: it guards against mistakes, not rights.
Scheduled runs are not confirmed: arming the schedule was the decision.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from eztaskmanager.models import Task
from eztaskmanager.models.task_rules import SECRET_MASK
from eztaskmanager_admin.pages import page_url
from eztaskmanager_admin.taskactions import refused, start_now, task_for_run

# The name of the button that confirms; a POST without it starts nothing.
CONFIRM_FIELD = "confirm"


def confirm_start(request: HttpRequest, pk: int, admin_site: AdminSite) -> HttpResponse:
    """GET: what Start would run; POST with the confirm button: start it now."""
    task = task_for_run(request, pk)
    change_url = page_url(admin_site.name, Task, "change", task.pk)
    if refused(request, task):
        return HttpResponseRedirect(change_url)
    if request.method == "POST" and request.POST.get(CONFIRM_FIELD):
        # Not the referer (this page) when no next page is posted: the task's.
        return start_now(request, task, admin_site.name, _next_page(request, change_url))
    context = {
        **admin_site.each_context(request),
        "opts": Task._meta,
        "title": _("Start %(task)s?") % {"task": task},
        "task": task,
        "arguments": task.arguments,
        "secret_mask": SECRET_MASK if task.secret_arguments else "",
        "books_schedule": task.is_scheduled_later(),
        "confirm_field": CONFIRM_FIELD,
        "next": _next_page(request, change_url),
        "change_url": change_url,
    }
    return TemplateResponse(request, "eztaskmanager_admin/task/confirm_start.html", context)


def _next_page(request: HttpRequest, default: str) -> str:
    """Where to go once started (when no live log follows): the page Start was pressed on."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
