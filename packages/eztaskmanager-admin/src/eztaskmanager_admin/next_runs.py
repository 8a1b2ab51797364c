"""The next runs of a schedule as the task's form has it, before it is saved.

The form asks :func:`next_runs` as its scheduling fields change (``next_runs.js``); the
answer comes from the same :meth:`Task.next_run_after` the engines use, on the site's
clock, so what the form shows is what will run.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from eztaskmanager.models import Task

# How many runs the form shows.
SHOWN = 5
SCHEDULE_INPUTS = ("scheduling", "repetition_rate", "repetition_period", "cron")


# The scheduling fields of the task's form, as its inputs send them, checked by the model's
# own fields and clean() (its bounds and cron rules, written once).
ScheduleForm = forms.modelform_factory(
    Task, fields=SCHEDULE_INPUTS, field_classes={"scheduling": forms.SplitDateTimeField}
)


def upcoming(task: Task, now: datetime, n: int = SHOWN) -> list[datetime]:
    """The task's next ``n`` runs after ``now`` (one for a one-off), as the engines find them."""
    found: list[datetime] = []
    after = now
    while len(found) < n:
        due = task.next_run_after(after)
        if due is None:
            break
        found.append(due)
        if not task.is_periodic:
            break
        after = due
    return found


def first_error(messages: dict[str, list[str]]) -> str:
    """The first message about a scheduling field, in the form's order; empty if none."""
    wanted = [messages[name] for name in SCHEDULE_INPUTS if messages.get(name)]
    return str(wanted[0][0]) if wanted else ""


def next_runs(request: HttpRequest) -> JsonResponse:
    """GET: ``{"runs": [...], "error": "..."}`` for the scheduling fields in the query."""
    user = request.user
    if not (user.has_perm("eztaskmanager.add_task") or user.has_perm("eztaskmanager.change_task")):
        raise PermissionDenied
    form = ScheduleForm(request.GET)
    if not form.is_valid():
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        return JsonResponse({"runs": [], "error": first_error(errors)})
    task = form.instance
    zone = timezone.get_default_timezone()
    runs = [timezone.localtime(due, zone) for due in upcoming(task, timezone.now())]
    return JsonResponse(
        {
            "runs": [
                f"{date_format(due, 'l')}, {date_format(due, 'DATETIME_FORMAT')}" for due in runs
            ],
            "error": "",
        }
    )


def preview(url: str) -> SafeString:
    """Where the form shows the next runs (filled by ``next_runs.js``)."""
    return format_html(
        '<div id="eztm-next-runs" class="eztm-next-runs" data-url="{}" data-none="{}" '
        'aria-live="polite"></div>',
        url,
        _("None: Start runs the task now."),
    )
