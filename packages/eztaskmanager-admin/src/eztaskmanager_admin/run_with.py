"""Run now with...: one run of a task with other arguments, from the task's page.

The arguments are checked by the command's own parser, as the task's are, and shown
again with the parser's message when it refuses them. The run starts now whatever the
task's schedule says; the task, its arguments and its schedule stay as they are, and
the run's report records the arguments it ran with. The task's secret arguments are
passed after those given here, as on every run, and never shown (``***``). On a protected
task this form is the confirming step: it names the command and what it runs with.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eztaskmanager.arguments import InvalidArguments
from eztaskmanager.exceptions import TaskNotAllowed, TaskQueueException
from eztaskmanager.models import Task
from eztaskmanager.models.task_rules import SECRET_MASK
from eztaskmanager.models.tasks import ARGUMENTS_MAX_LENGTH
from eztaskmanager.origins import Origin
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin.access import can_view_logs
from eztaskmanager_admin.display import log_url
from eztaskmanager_admin.pages import page_url
from eztaskmanager_admin.taskactions import (
    not_allowed_message,
    refused,
    start_message,
    task_for_run,
)

logger = logging.getLogger(__name__)


class RunWithForm(forms.Form):
    """The arguments of one run, checked by the task's command."""

    arguments = forms.CharField(
        label=gettext_lazy("Arguments"),
        required=False,
        max_length=ARGUMENTS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "spellcheck": "false"}),
        help_text=gettext_lazy(
            'For this run only. Separate arguments with a comma "," and values inside one '
            'argument with a space " ".'
        ),
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task = task

    def clean_arguments(self) -> str:
        text = self.cleaned_data["arguments"]
        try:
            self.task.check_arguments(text)
        except InvalidArguments as exc:
            raise ValidationError(str(exc), code="invalid_arguments") from exc
        return text


def command_usage(task: Task) -> str:
    """The command's own help (its parser's), to write the arguments by; empty if unloadable."""
    try:
        command = task.command.get_command_class()
        return command.create_parser("manage.py", task.command.name).format_help()
    except Exception:  # an unloadable command: the form says why when it is submitted
        logger.debug("No help for the command of task %s", task.pk, exc_info=True)
        return ""


def run_with(request: HttpRequest, pk: int, admin_site: AdminSite) -> HttpResponse:
    """GET: the form, with the task's arguments; POST: start one run with the arguments given."""
    task = task_for_run(request, pk)
    change_url = page_url(admin_site.name, Task, "change", task.pk)
    if refused(request, task):
        return HttpResponseRedirect(change_url)
    if request.method == "POST":
        form = RunWithForm(request.POST, task=task)
        if form.is_valid():
            try:
                report = get_task_service().run_once(
                    task, form.cleaned_data["arguments"], by=Origin.of_request(request)
                )
            except InvalidArguments as exc:  # the command changed since the form was checked
                form.add_error("arguments", str(exc))
            except TaskNotAllowed:  # the groups changed since the check
                form.add_error(None, not_allowed_message(task))
            except TaskQueueException as exc:
                logger.warning("Could not run task %s with other arguments: %s", task.pk, exc)
                form.add_error(
                    None, _("%(task)s was not started: %(error)s") % {"task": task, "error": exc}
                )
            else:
                messages.success(request, start_message(task, report))
                if can_view_logs(request):
                    return HttpResponseRedirect(log_url(admin_site.name, report.pk, live=True))
                return HttpResponseRedirect(change_url)
    else:
        form = RunWithForm(initial={"arguments": task.arguments}, task=task)
    context = {
        **admin_site.each_context(request),
        "opts": Task._meta,
        "title": _("Run %(task)s now with…") % {"task": task},
        "task": task,
        "form": form,
        "usage": command_usage(task),
        "secret_mask": SECRET_MASK if task.secret_arguments else "",
        "change_url": change_url,
    }
    return TemplateResponse(request, "eztaskmanager_admin/task/run_with.html", context)
