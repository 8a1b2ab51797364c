"""The admin sections Commands, Tasks, Task categories, Launch reports, Workers and schedulers."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from eztaskmanager.conf import get_setting
from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import AppCommand, LaunchReport, ProcessHeartbeat, Task, TaskCategory
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin import display, health, taskactions
from eztaskmanager_admin.access import can_run_tasks
from eztaskmanager_admin.views import ADMIN_URL_PREFIX, LogLinesView, LogTextView, LogViewerView


@admin.register(AppCommand)
class AppCommandAdmin(admin.ModelAdmin):
    """Commands come from ``collectcommands``; here they are switched on and off."""

    list_display = ("name", "app_name", "active")
    list_display_links = ("name", "app_name")
    list_editable = ("active",)
    list_filter = ("active", "app_name")
    search_fields = ("name", "app_name")
    fields = ("active", "app_name", "name", "help_text_display")
    readonly_fields = ("app_name", "name", "help_text_display")

    class Media:
        css = display.ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("help text"))
    def help_text_display(self, obj: AppCommand) -> SafeString:
        return format_html('<pre class="eztm-help">{}</pre>', obj.help_text)


@admin.register(TaskCategory)
class TaskCategoryAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class ResultFilter(admin.SimpleListFilter):
    """Filter by last result from the fixed choices (no query, unlike a values filter)."""

    title = _("last result")
    parameter_name = "result"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(value, label) for value, label in LaunchReport.RESULT_CHOICES if value]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(cached_last_invocation_result=self.value())
        return queryset


class LaunchReportInline(admin.TabularInline):
    """The task's last reports, newest first, with the tail of each log."""

    model = LaunchReport
    extra = 0
    max_num = 0
    can_delete = True
    show_change_link = False
    fields = (
        "result_display",
        "invocation_datetime",
        "log_tail_display",
        "n_log_errors",
        "n_log_warnings",
    )
    readonly_fields = fields
    ordering = ("-invocation_datetime",)
    verbose_name_plural = _("reports")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("result"))
    def result_display(self, obj: LaunchReport) -> SafeString | str:
        return display.run_badge(obj, self.admin_site.name)

    @admin.display(description=_("log tail"))
    def log_tail_display(self, obj: LaunchReport) -> SafeString:
        n_lines = get_setting("REPORT_LOG_TAIL_LINES")
        tail = display.tail_html(obj.log_tail(n_lines), obj.n_log_lines)
        if not display.show_log_links():
            return tail
        link = format_html(
            '<a class="eztm-log-link" href="{}">{}</a>',
            display.log_url(self.admin_site.name, obj.pk, live=obj.is_active),
            _("Show the log messages"),
        )
        return format_html("{}{}", tail, link)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks: define, schedule, start and stop them, and read their last runs."""

    change_form_template = "eztaskmanager_admin/task/change_form.html"
    change_list_template = "eztaskmanager_admin/task/change_list.html"
    list_display = (
        "name_display",
        "command_display",
        "category",
        "status",
        "last_result_display",
        "last_run",
        "next_run",
        "cached_last_invocation_n_errors",
        "cached_last_invocation_n_warnings",
    )
    list_display_links = ("name_display",)
    # The last report comes along (one join) for the reason its run ended, shown on hover.
    list_select_related = ("command", "category", "cached_last_report")
    list_filter = ("category", "status", ResultFilter, "command")
    search_fields = ("name", "note", "command__name")
    inlines = [LaunchReportInline]
    readonly_fields = (
        "cached_next_ride",
        "scheduled_job_id",
        "status",
        "cached_last_invocation_datetime",
        "last_result_display",
        "cached_last_invocation_n_errors",
        "cached_last_invocation_n_warnings",
    )
    fieldsets = (
        (_("Definition"), {"fields": ("name", "command", "arguments", "category", "note")}),
        (
            _("Scheduling"),
            {
                "fields": (
                    "scheduling",
                    "repetition_period",
                    "repetition_rate",
                    "timeout",
                    "cached_next_ride",
                    "scheduled_job_id",
                )
            },
        ),
        (
            _("Last execution"),
            {
                "fields": (
                    "status",
                    "cached_last_invocation_datetime",
                    "last_result_display",
                    "cached_last_invocation_n_errors",
                    "cached_last_invocation_n_warnings",
                )
            },
        ),
    )

    class Media:
        css = display.ADMIN_CSS

    # Lists --------------------------------------------------------------------------------
    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        columns = tuple(super().get_list_display(request))
        return (*columns, "run_buttons") if can_run_tasks(request) else columns

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: Task) -> SafeString:
        return format_html('<span title="{}">{}</span>', obj.note, obj.name)

    @admin.display(description=_("command"), ordering="command__name")
    def command_display(self, obj: Task) -> SafeString:
        return format_html('<span title="{}">{}</span>', obj.command.app_name, obj.command.name)

    @admin.display(description=_("last result"), ordering="cached_last_invocation_result")
    def last_result_display(self, obj: Task) -> SafeString | str:
        last = obj.cached_last_report
        return display.result_badge(
            obj.cached_last_invocation_result,
            obj.cached_last_report_id,
            self.admin_site.name,
            reason=last.reason if last is not None else "",
        )

    @admin.display(description=_("last run"), ordering="cached_last_invocation_datetime")
    def last_run(self, obj: Task):
        return obj.cached_last_invocation_datetime

    @admin.display(description=_("next run"), ordering="cached_next_ride")
    def next_run(self, obj: Task):
        return obj.cached_next_ride

    @admin.display(description=_("run"))
    def run_buttons(self, obj: Task) -> SafeString:
        # The row sits inside the changelist form (nested forms are invalid): each button
        # posts that form, with its CSRF token, to its own action URL.
        return format_html(
            '<span class="eztm-run-buttons">'
            '<button type="submit" class="button eztm-start" formmethod="post" formaction="{}">{}</button> '
            '<button type="submit" class="button eztm-stop" formmethod="post" formaction="{}">{}</button>'
            "</span>",
            self._action_url("start", obj.pk),
            _("Start"),
            self._action_url("stop", obj.pk),
            _("Stop"),
        )

    def _action_url(self, action: str, pk: int) -> str:
        return reverse(f"{self.admin_site.name}:eztaskmanager_task_{action}", args=[pk])

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        """The list, with a warning when scheduled tasks have no scheduler to start them."""
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            extra_context.update(health.warning_context(request, self.admin_site))
        return super().changelist_view(request, extra_context)

    # Detail page ----------------------------------------------------------------------------
    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        name = self.admin_site.name
        return [
            path(
                "<int:pk>/start/",
                wrap(partial(taskactions.start_task, admin_site_name=name)),
                name="eztaskmanager_task_start",
            ),
            path(
                "<int:pk>/stop/",
                wrap(partial(taskactions.stop_task, admin_site_name=name)),
                name="eztaskmanager_task_stop",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ):
        extra_context = dict(extra_context or {})
        task = self.get_object(request, object_id)
        if task is not None:
            extra_context.update(
                subtitle=f"{task} ({task.get_status_display()})",
                can_run_tasks=can_run_tasks(request),
                start_url=self._action_url("start", task.pk),
                stop_url=self._action_url("stop", task.pk),
            )
        return super().change_view(request, object_id, form_url, extra_context)

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
        return form if can_run_tasks(request) else guard_run_fields(form)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any):
        form = super().get_changelist_form(request, **kwargs)
        return form if can_run_tasks(request) else guard_run_fields(form)

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        """Save the form's fields only: the status, schedule handle and cached figures are
        the core's, and a worker may have changed them since the form was read."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        names = {field.name for field in obj._meta.concrete_fields if not field.primary_key}
        obj.save(update_fields=[name for name in form.fields if name in names])
        schedule_fields = {
            "scheduling",
            "repetition_period",
            "repetition_rate",
            "command",
            "arguments",
        }
        if schedule_fields & set(form.changed_data):
            obj.refresh_from_db(fields=["status", "scheduled_job_id", "cached_next_ride"])
            # Only a user who may start tasks re-arms one (the form refused the others).
            if obj.scheduled_job_id and can_run_tasks(request):
                self._reschedule(request, obj)

    def _reschedule(self, request: HttpRequest, task: Task) -> None:
        """Keep the engine's schedule in step with the edited fields (one job, never two)."""
        service = get_task_service()
        try:
            if task.is_scheduled_later():
                service.add(task)
            else:
                service.remove(task)
        except TaskQueueException as exc:
            messages.error(
                request,
                _("The schedule of %(task)s could not be updated: %(error)s")
                % {"task": task, "error": exc},
            )


def guard_run_fields(form_class: type) -> type:
    """The task form of a user who may not start tasks (no ``run_task``).

    It refuses to change what a scheduled or queued task runs, or when
    (:meth:`Task.refuse_run_changes`): saving it would make the task run that.
    """

    def clean(self: Any) -> Any:
        cleaned_data = form_class.clean(self)
        try:
            self.instance.refuse_run_changes(self.changed_data)
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned_data

    return type(form_class.__name__, (form_class,), {"clean": clean})


@admin.register(LaunchReport)
class LaunchReportAdmin(admin.ModelAdmin):
    """Reports are written by runs: read them, open their log, delete them."""

    list_display = (
        "task",
        "result_display",
        "invocation_datetime",
        "finished_at",
        "n_log_lines",
        "n_log_errors",
        "n_log_warnings",
        "reason_display",
        "log_link",
    )
    list_select_related = ("task",)
    list_filter = ("state", "invocation_result")
    search_fields = ("task__name",)
    date_hierarchy = "invocation_datetime"
    fields = (
        "task",
        "command_display",
        "arguments_display",
        "result_display",
        "reason",
        "queued_at",
        "invocation_datetime",
        "finished_at",
        "duration_display",
        "timeout",
        "job_id",
        "worker",
        "heartbeat_at",
        "n_log_lines",
        "n_log_errors",
        "n_log_warnings",
        "log_link",
    )
    readonly_fields = fields

    class Media:
        css = display.ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("result"), ordering="invocation_result")
    def result_display(self, obj: LaunchReport) -> SafeString | str:
        return display.run_badge(obj, self.admin_site.name)

    @admin.display(description=_("reason"), ordering="reason")
    def reason_display(self, obj: LaunchReport) -> SafeString | str:
        if not obj.reason:
            return ""
        return format_html(
            '<span title="{}">{}</span>', obj.reason, Truncator(obj.reason).chars(60)
        )

    @admin.display(description=_("command"))
    def command_display(self, obj: LaunchReport) -> str:
        return obj.ran_command  # what the run ran, even if the task changed since

    @admin.display(description=_("arguments"))
    def arguments_display(self, obj: LaunchReport) -> SafeString | str:
        return format_html("<code>{}</code>", obj.ran_arguments) if obj.ran_arguments else "-"

    @admin.display(description=_("duration"))
    def duration_display(self, obj: LaunchReport) -> str:
        duration = obj.duration
        return "-" if duration is None else str(duration).split(".")[0]

    @admin.display(description=_("log"))
    def log_link(self, obj: LaunchReport) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            display.log_url(self.admin_site.name, obj.pk, live=obj.is_active),
            _("Show the log messages"),
        )

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        options = {"admin_site": self.admin_site, "url_prefix": ADMIN_URL_PREFIX}
        views = [
            ("<int:pk>/log/", "log_viewer", LogViewerView.as_view(**options)),
            ("<int:pk>/log/live/", "live_log_viewer", LogViewerView.as_view(live=True, **options)),
            ("<int:pk>/log/lines/", "ajax_read_log_lines", LogLinesView.as_view(**options)),
            ("<int:pk>/log/text/", "log_text", LogTextView.as_view(**options)),
        ]
        return [
            *(
                path(route, wrap(view), name=f"{ADMIN_URL_PREFIX}{name}")
                for route, name, view in views
            ),
            *super().get_urls(),
        ]


admin.site.register(ProcessHeartbeat, health.ProcessHeartbeatAdmin)
