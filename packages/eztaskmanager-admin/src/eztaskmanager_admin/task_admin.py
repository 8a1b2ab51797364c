"""The Tasks section: define, schedule, start and stop tasks, and read their last runs.

The list page is :class:`~eztaskmanager_admin.task_list.TaskList`; the task's own page
and its saving are here.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager import audit
from eztaskmanager.conf import get_setting
from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import Task
from eztaskmanager.models.task_rules import SECRET_MASK
from eztaskmanager.models.tasks import ARMING_FIELDS, SCHEDULE_FIELDS
from eztaskmanager.origins import Origin
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin import (
    chains,
    confirm,
    display,
    history,
    list_history,
    next_runs,
    run_with,
    taskactions,
)
from eztaskmanager_admin.access import can_run_tasks, may_run_task
from eztaskmanager_admin.forms import FORM_WORDS, REPETITION_CHOICES, TaskForm, guard_run_fields
from eztaskmanager_admin.inlines import LaunchReportInline, TaskAuditInline
from eztaskmanager_admin.pages import page_name, page_url
from eztaskmanager_admin.task_list import TaskList, can_start, can_stop


class TaskAdmin(TaskList, admin.ModelAdmin):
    """Tasks: define, schedule, start and stop them, and read their last runs."""

    change_form_template = "eztaskmanager_admin/task/change_form.html"
    change_list_template = "eztaskmanager_admin/task/change_list.html"
    form = TaskForm
    inlines = [LaunchReportInline, TaskAuditInline]
    readonly_fields = (
        "next_run_display",
        "status_display",
        "last_run_display",
        "last_result_field",
        "history_chart",
        "chain_display",
        "next_runs_preview",
        "secret_arguments_display",
    )
    autocomplete_fields = ("follows",)

    class Media:
        css = display.ADMIN_CSS
        js = [
            *display.REFRESH_JS,
            "eztaskmanager_admin/next_runs.js",
            "eztaskmanager_admin/history.js",
        ]

    # Detail page ----------------------------------------------------------------------------
    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        name = self.admin_site.name
        return [
            path(
                "<int:pk>/start/",
                wrap(partial(taskactions.start_task, admin_site_name=name)),
                name=page_name(Task, "start"),
            ),
            path(
                "<int:pk>/stop/",
                wrap(partial(taskactions.stop_task, admin_site_name=name)),
                name=page_name(Task, "stop"),
            ),
            path(
                "<int:pk>/start/confirm/",
                wrap(partial(confirm.confirm_start, admin_site=self.admin_site)),
                name=page_name(Task, "confirm_start"),
            ),
            path(
                "history/",
                wrap(partial(list_history.history_bars, model_admin=self)),
                name=page_name(Task, "history"),
            ),
            path(
                "next-runs/",
                wrap(next_runs.next_runs),
                name=page_name(Task, "next_runs"),
            ),
            path(
                "<int:pk>/run-with/",
                wrap(partial(run_with.run_with, admin_site=self.admin_site)),
                name=page_name(Task, "run_with"),
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ):
        extra_context = dict(extra_context or {})
        task = self.get_object(request, object_id)
        if task is not None:
            runs = self._runs(task)
            # Links only to the reports the user may see (None: all of them).
            task.eztm_visible = history.visible_ids(request.user, runs)
            active = history.active_run(runs)
            extra_context.update(
                subtitle=task.name,
                eztm_status_badge=display.status_badge(
                    task, self.admin_site.name, _linked(task, active.pk if active else None)
                ),
                # Start, Stop and Run now with... for a user the task's command allows.
                can_run_tasks=may_run_task(request, task),
                eztm_can_start=can_start(task),
                eztm_can_stop=can_stop(task),
                start_url=self._action_url("start", task.pk),
                stop_url=self._action_url("stop", task.pk),
                run_with_url=self._action_url("run_with", task.pk),
                eztm_refresh=display.refresh_config([task]),
            )
        if display.is_refresh(request):
            extra_context["messages"] = []
        return super().change_view(request, object_id, form_url, extra_context)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None):
        # One read per request: change_view and the form's read-only fields share it.
        cache = request.__dict__.setdefault("_eztm_tasks", {})
        key = (object_id, from_field)
        if key not in cache:
            cache[key] = super().get_object(request, object_id, from_field)
        return cache[key]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        scheduling: list[Any] = [
            "scheduling",
            ("repetition_rate", "repetition_period"),
            "cron",
            "next_runs_preview",
            "timeout",
            "queue",
        ]
        if obj is not None:
            scheduling.append("next_run_display")
        fieldsets: list[Any] = [
            (_("Definition"), {"fields": self._definition_fields(request, obj)}),
            (
                _("Scheduling"),
                {"fields": scheduling, "description": self._scheduling_help(request)},
            ),
        ]
        retries_set = obj is not None and bool(obj.retries or obj.queued_ttl)
        fieldsets.append(
            (
                _("Retries and time to live"),
                {
                    "fields": [("retries", "retry_delay", "retry_backoff"), "queued_ttl"],
                    "description": _(
                        "A failed run (an exception, a timeout, a lost worker) is tried again "
                        "after the delay, each next time longer by the backoff; a queued run "
                        "that waits longer than its time to live is dropped, not run late."
                    ),
                    "classes": () if retries_set else ("collapse",),
                },
            )
        )
        chain: list[Any] = [("follows", "follows_on")]
        if obj is not None:
            chain.append("chain_display")
        fieldsets.append(
            (
                _("Chain"),
                {
                    "fields": chain,
                    "description": _(
                        "Start this task each time another task ends (OK, or whatever its "
                        "result). A task running still is not started twice."
                    ),
                    "classes": ("collapse",) if obj is None or not _in_chain(obj) else (),
                },
            )
        )
        if obj is not None:
            fieldsets.append(
                (
                    _("Last execution"),
                    {
                        "fields": (
                            ("status_display", "last_run_display", "last_result_field"),
                            "history_chart",
                        )
                    },
                )
            )
        return fieldsets

    def _definition_fields(self, request: HttpRequest, obj: Any) -> tuple[str, ...]:
        # A read-only page would print the secret arguments' value: it shows *** instead.
        secret = "secret_arguments"
        if obj is not None and not self.has_change_permission(request, obj):
            secret = "secret_arguments_display"
        return ("name", "command", "arguments", secret, "protected", "category", "note")

    @admin.display(description=_("secret arguments"))
    def secret_arguments_display(self, obj: Task) -> str:
        return SECRET_MASK if obj.secret_arguments else "-"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        # A chain starts the task: only a user who may start tasks sets one.
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if can_run_tasks(request) else (*fields, "follows", "follows_on")

    @admin.display(description=_("next runs"))
    def next_runs_preview(self, obj: Task | None = None) -> SafeString:
        return next_runs.preview(page_url(self.admin_site.name, Task, "next_runs"))

    @admin.display(description=_("chain"))
    def chain_display(self, obj: Task) -> SafeString | str:
        return chains.chain_summary(obj, self.admin_site.name)

    @staticmethod
    def _scheduling_help(request: HttpRequest) -> str:
        zone = timezone.get_current_timezone_name()
        when = _("Times are in the site's time zone, %(zone)s.") % {"zone": zone}
        if can_run_tasks(request):
            books = _(
                "Saving a first run in the future, or a repetition, books the schedule at "
                "once; Stop cancels it, Start books it again. Without a scheduling, Start "
                "runs the task at once."
            )
        else:
            books = _(
                "Saving does not book the schedule: a user allowed to start tasks does it "
                "with Start."
            )
        return f"{when} {books}"

    def get_inlines(self, request: HttpRequest, obj: Any) -> list:
        return super().get_inlines(request, obj) if obj is not None else []

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "repetition_period":
            kwargs["choices"] = REPETITION_CHOICES
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in FORM_WORDS:
            field.label, field.help_text = FORM_WORDS[db_field.name]
        return field

    # Read-only fields of the task's page ----------------------------------------------------
    @admin.display(description=_("next run"))
    def next_run_display(self, obj: Task) -> SafeString:
        content = display.local_datetime(obj.cached_next_ride) if obj.cached_next_ride else "-"
        return display.refresh_fragment("next-run", content)

    @admin.display(description=_("last run"))
    def last_run_display(self, obj: Task) -> SafeString:
        when = obj.cached_last_invocation_datetime
        return display.refresh_fragment(
            "last-run", display.local_datetime(when) if when else _("never")
        )

    @admin.display(description=_("last result"))
    def last_result_field(self, obj: Task) -> SafeString:
        last = obj.cached_last_report
        if not obj.cached_last_invocation_result:
            content: SafeString | str = "-"
        else:
            content = format_html(
                "{}{}",
                display.result_badge(
                    obj.cached_last_invocation_result,
                    _linked(obj, obj.cached_last_report_id),
                    self.admin_site.name,
                    reason=last.reason if last is not None else "",
                ),
                display.counts_html(
                    obj.cached_last_invocation_n_errors, obj.cached_last_invocation_n_warnings
                ),
            )
        return display.refresh_fragment("last-result", content)

    @admin.display(description=_("history"))
    def history_chart(self, obj: Task) -> SafeString:
        return display.refresh_fragment(
            "history",
            history.chart(self._runs(obj), self.admin_site.name, _visible(obj)),
            tag="div",
        )

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LaunchReportInline) and obj is not None and obj.pk:
            # The last N reports; a formset cannot filter a sliced queryset, so pass ids.
            latest = list(
                obj.launchreport_set.order_by("-invocation_datetime").values_list("pk", flat=True)[
                    : get_setting("REPORTS_INLINE")
                ]
            )
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=latest)
        return kwargs

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.eztm_user = request.user  # a new class each request: its commands' check
        # What a scheduled or queued task runs is changed only by who may run it.
        runs_it = can_run_tasks(request) and (obj is None or may_run_task(request, obj))
        return form if runs_it else guard_run_fields(form)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any):
        form = super().get_changelist_form(request, **kwargs)
        return form if can_run_tasks(request) else guard_run_fields(form)

    # Saving -------------------------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        """Save the form's fields only: the status, schedule handle and cached figures are
        the core's, and a worker may have changed them since the form was read.

        The core books an armed schedule again when what it runs or when changes (see
        :mod:`eztaskmanager.services.edits`); here the user hears what became of it. A new
        first run or repetition is booked as Start would, for a user who may start tasks.
        """
        if not change:
            super().save_model(request, obj, form, change)
            return
        was_armed = bool(obj.scheduled_job_id)
        names = {field.name for field in obj._meta.concrete_fields if not field.primary_key}
        try:
            obj.save(update_fields=[name for name in form.fields if name in names])
        except TaskQueueException as exc:
            messages.error(
                request,
                _("The schedule of %(task)s could not be updated: %(error)s")
                % {"task": obj, "error": exc},
            )
            return
        changed = set(form.changed_data)
        if not changed & set(SCHEDULE_FIELDS):
            return
        obj.refresh_from_db(fields=["status", "scheduled_job_id", "cached_next_ride"])
        if was_armed and obj.scheduled_job_id:
            messages.success(request, taskactions.start_message(obj, None))
        elif was_armed:
            messages.info(request, _("%(task)s is no longer scheduled.") % {"task": obj})
        elif changed & set(ARMING_FIELDS) and obj.is_scheduled_later():
            self._book(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and form.instance.is_scheduled_later():
            self._book(request, form.instance)

    def _book(self, request: HttpRequest, task: Task) -> None:
        """Saving a schedule books it, for a user who may start the task; others are told who can."""
        if not may_run_task(request, task):
            messages.info(
                request,
                _(
                    "%(task)s has a schedule: it is booked when a user allowed to start "
                    "tasks presses Start."
                )
                % {"task": task},
            )
            return
        try:
            get_task_service().add(task, by=Origin.of_request(request))
        except TaskQueueException as exc:
            messages.error(
                request,
                _("The schedule of %(task)s could not be updated: %(error)s")
                % {"task": task, "error": exc},
            )
        else:
            messages.success(request, taskactions.start_message(task, None))

    # The audit trail of edits (Django's LogEntry is written too) ----------------------------
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        audit.record(audit.CREATED, obj, Origin.of_request(request), detail=_change_text(message))
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        audit.record(audit.CHANGED, obj, Origin.of_request(request), detail=_change_text(message))
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Called before the deletion: the trail keeps the task's name, its id is let go.
        entries = super().log_deletions(request, queryset)
        for task in queryset:
            audit.record(audit.DELETED, task, Origin.of_request(request))
        return entries


def _change_text(message: Any) -> str:
    """The words of an admin change message: field names only (as Django's history shows
    them), never values, so no secret argument reaches the trail."""
    if isinstance(message, list):
        message = json.dumps(message)
    return LogEntry(change_message=message).get_change_message()


def _in_chain(task: Task) -> bool:
    """The task follows another, or another follows it: its chain section opens."""
    return task.follows_id is not None or task.followers.exists()


def _visible(task: Task) -> set[int] | None:
    """The reports the page's user may open (change_view works it out; none without it)."""
    return getattr(task, "eztm_visible", set())


def _linked(task: Task, report_id: int | None) -> int | None:
    """``report_id``, when the page may link to it."""
    visible = getattr(task, "eztm_visible", set())
    return report_id if visible is None or report_id in visible else None
