"""The admin sections Commands, Tasks, Task categories, Launch reports, Workers and schedulers."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from eztaskmanager.conf import get_setting
from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import AppCommand, LaunchReport, ProcessHeartbeat, Task, TaskCategory
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin import display, health, history, taskactions
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


class CategoryTaskInline(admin.TabularInline):
    """A category's tasks, on its page, with their status and last result (read only)."""

    model = Task
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("name", "command", "status_words", "last_result")
    readonly_fields = fields
    verbose_name_plural = _("tasks")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("command", "cached_last_report")

    @admin.display(description=_("status"))
    def status_words(self, obj: Task) -> str:
        return display.STATUS_LABELS.get(obj.status, obj.status)

    @admin.display(description=_("last result"))
    def last_result(self, obj: Task) -> SafeString | str:
        return display.result_badge(
            obj.cached_last_invocation_result, obj.cached_last_report_id, self.admin_site.name
        )


@admin.register(TaskCategory)
class TaskCategoryAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    inlines = [CategoryTaskInline]

    class Media:
        css = display.ADMIN_CSS


# Results in words, for the filters (the badges say them in capitals).
RESULT_WORDS = {
    LaunchReport.RESULT_OK: _("OK"),
    LaunchReport.RESULT_WARNINGS: _("Warnings"),
    LaunchReport.RESULT_ERRORS: _("Errors"),
    LaunchReport.RESULT_FAILED: _("Failed"),
    LaunchReport.RESULT_STOPPED: _("Stopped"),
}


class ResultFilter(admin.SimpleListFilter):
    """Filter by last result from the fixed choices (no query, unlike a values filter)."""

    title = _("last result")
    parameter_name = "result"

    field = "cached_last_invocation_result"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(RESULT_WORDS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class RunResultFilter(ResultFilter):
    """A run's result (runs that have not ended have none: filter them by state)."""

    title = _("result")
    parameter_name = "invocation_result__exact"
    field = "invocation_result"


class RunStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            (LaunchReport.STATE_QUEUED, _("Queued")),
            (LaunchReport.STATE_RUNNING, _("Running")),
            (LaunchReport.STATE_STOPPING, _("Stopping")),
            (LaunchReport.STATE_FINISHED, _("Finished")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(state=self.value())
        return queryset


class StatusFilter(admin.SimpleListFilter):
    """Filter by status, in the words the list shows (the stored values are the seed's)."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(display.STATUS_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


class UsedRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """Only the choices some task uses; the empty choice in words (``none_label``)."""

    none_label = _("None")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = self.none_label


class CategoryFilter(UsedRelatedFilter):
    none_label = _("No category")


class LaunchReportInline(admin.TabularInline):
    """The task's last reports, newest first, with the tail of each log."""

    model = LaunchReport
    extra = 0
    max_num = 0
    can_delete = True
    show_change_link = False
    fields = ("result_display", "started_display", "duration_display", "log_tail_display")
    readonly_fields = fields
    ordering = ("-invocation_datetime",)
    verbose_name_plural = _("reports")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("result"))
    def result_display(self, obj: LaunchReport) -> SafeString | str:
        return run_result_html(obj, self.admin_site.name)

    @admin.display(description=_("started"))
    def started_display(self, obj: LaunchReport) -> SafeString | str:
        return display.when_html(obj.invocation_datetime)

    @admin.display(description=_("duration"))
    def duration_display(self, obj: LaunchReport) -> str:
        return display.format_duration(display.run_duration(obj))

    @admin.display(description=_("log tail"))
    def log_tail_display(self, obj: LaunchReport) -> SafeString:
        tail = display.report_tail(obj)
        if not display.show_log_links():
            return tail
        link = format_html(
            '<a class="eztm-log-link" href="{}">{}</a>',
            display.log_url(self.admin_site.name, obj.pk, live=obj.is_active),
            _("Show the log messages"),
        )
        return format_html("{}{}", tail, link)


def run_result_html(report: LaunchReport, admin_site_name: str) -> SafeString:
    """A run's badge (its result, or its state while it goes on) with its counts."""
    return format_html(
        "{}{}",
        display.run_badge(report, admin_site_name),
        display.counts_html(report.n_log_errors, report.n_log_warnings),
    )


def can_start(task: Task) -> bool:
    """Start does something: no run is queued or going on (on a scheduled task it books
    the schedule again from the task's fields)."""
    return task.status in (Task.STATUS_IDLE, Task.STATUS_SCHEDULED)


def can_stop(task: Task) -> bool:
    """Stop does something: a run is queued or going on, or a schedule is booked."""
    return task.status != Task.STATUS_IDLE


def refresh_config(tasks: list[Task], now: Any = None) -> dict[str, Any]:
    """What ``refresh.js`` needs: whether a run is going on, when the next one comes due."""
    now = now or timezone.now()
    due = [t.cached_next_ride for t in tasks if t.cached_next_ride is not None]
    return {
        "active": any(t.status in display.ACTIVE_STATUSES for t in tasks),
        "due": int(min(due).timestamp() * 1000) if due else None,
    }


def is_refresh(request: HttpRequest) -> bool:
    """A request of ``refresh.js`` for a newer copy of the page it shows."""
    return request.headers.get("X-EZTM-Refresh") == "1"


class TaskChangeList(ChangeList):
    """The task list, with the last runs of the page's tasks read in one query."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        tasks = list(self.result_list)  # evaluated once; the template reads the same rows
        runs = history.recent_runs(task.pk for task in tasks)
        for task in tasks:
            task.eztm_runs = runs.get(task.pk, [])
        self.eztm_refresh = refresh_config(tasks)


# The fields whose change moves the task's schedule.
SCHEDULE_FIELDS = frozenset(
    {"scheduling", "repetition_period", "repetition_rate", "command", "arguments"}
)
# The fields whose change books a schedule that was not booked (a stopped one stays
# stopped when only its command or arguments change).
ARMING_FIELDS = frozenset({"scheduling", "repetition_period", "repetition_rate"})
# The model's periods in words ("minutes"...), after an empty choice that says what it means.
REPETITION_CHOICES = [("", _("no repetition")), *Task.REPETITION_PERIOD_CHOICES]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks: define, schedule, start and stop them, and read their last runs."""

    change_form_template = "eztaskmanager_admin/task/change_form.html"
    change_list_template = "eztaskmanager_admin/task/change_list.html"
    # Few columns, two lines each, so that the list fits a laptop with the sidebar open.
    list_display = ("name_display", "status_display", "last_result_display", "history_display")
    list_display_links = ("name_display",)
    # The last report comes along (one join) for the reason its run ended, shown on hover.
    list_select_related = ("command", "category", "cached_last_report")
    list_filter = (
        ("category", CategoryFilter),
        StatusFilter,
        ResultFilter,
        ("command", UsedRelatedFilter),
    )
    search_fields = ("name", "note", "command__name")
    inlines = [LaunchReportInline]
    actions = ["start_selected", "stop_selected"]
    readonly_fields = (
        "next_run_display",
        "status_display",
        "last_run_display",
        "last_result_field",
        "history_chart",
    )

    class Media:
        css = display.ADMIN_CSS
        js = display.REFRESH_JS

    # Lists --------------------------------------------------------------------------------
    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TaskChangeList

    def has_run_permission(self, request: HttpRequest) -> bool:
        """Who may use the Start/Stop actions (Django asks ``has_<name>_permission``)."""
        return can_run_tasks(request)

    @admin.action(description=_("Start selected tasks"), permissions=["run"])
    def start_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        taskactions.start_selected(self, request, queryset)

    @admin.action(description=_("Stop selected tasks"), permissions=["run"])
    def stop_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        taskactions.stop_selected(self, request, queryset)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        columns = tuple(super().get_list_display(request))
        return (*columns, "run_buttons") if can_run_tasks(request) else columns

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: Task) -> SafeString:
        where = f"{obj.command.name} · {obj.category}" if obj.category else obj.command.name
        return format_html(
            '<span class="eztm-name" title="{}">'
            '<span class="eztm-line eztm-title">{}</span>'
            '<span class="eztm-line eztm-quiet">{}</span></span>',
            obj.note,
            obj.name,
            where,
        )

    @admin.display(description=_("status"), ordering=F("cached_next_ride").asc(nulls_last=True))
    def status_display(self, obj: Task) -> SafeString:
        """The status badge (a link to the live log while a run goes on), and the next run."""
        runs = self._runs(obj)
        active = history.active_run(runs)
        badge = display.status_badge(obj, self.admin_site.name, active.pk if active else None)
        nxt = ""
        if obj.cached_next_ride:
            nxt = format_html("{} {}", _("next"), display.when_html(obj.cached_next_ride))
        return display.refresh_fragment(
            f"status-{obj.pk}", display.stack(badge, display.quiet(nxt))
        )

    @admin.display(description=_("last run"), ordering="cached_last_invocation_datetime")
    def last_result_display(self, obj: Task) -> SafeString:
        """The last finished run: its result (a link to its log), counts, and when it ran."""
        last = obj.cached_last_report
        if not obj.cached_last_invocation_result:
            content = display.quiet(_("never run"))
        else:
            badge = display.result_badge(
                obj.cached_last_invocation_result,
                obj.cached_last_report_id,
                self.admin_site.name,
                reason=last.reason if last is not None else "",
            )
            counts = display.counts_html(
                obj.cached_last_invocation_n_errors, obj.cached_last_invocation_n_warnings
            )
            content = display.stack(
                format_html("{}{}", badge, counts),
                display.quiet(display.when_html(obj.cached_last_invocation_datetime)),
            )
        return display.refresh_fragment(f"result-{obj.pk}", content)

    @admin.display(description=_("history"))
    def history_display(self, obj: Task) -> SafeString:
        return display.refresh_fragment(
            f"history-{obj.pk}", history.sparkline(self._runs(obj), self.admin_site.name)
        )

    @admin.display(description=_("run"))
    def run_buttons(self, obj: Task) -> SafeString:
        # The row sits inside the changelist form (nested forms are invalid): each button
        # posts that form, with its CSRF token, to its own action URL. Only the buttons
        # that do something in the task's state are shown.
        buttons = []
        if can_start(obj):
            buttons.append(("start", "button eztm-start", _("Start")))
        if can_stop(obj):
            buttons.append(("stop", "button eztm-stop", _("Stop")))
        html = format_html_join(
            "",
            '<button type="submit" class="{}" formmethod="post" formaction="{}">{}</button>',
            ((css, self._action_url(action, obj.pk), label) for action, css, label in buttons),
        )
        return display.refresh_fragment(
            f"buttons-{obj.pk}", format_html('<span class="eztm-run-buttons">{}</span>', html)
        )

    def _runs(self, obj: Task) -> list[LaunchReport]:
        """The task's last runs: read for the whole list page, or for the task's own page."""
        runs = getattr(obj, "eztm_runs", None)
        if runs is None:
            runs = obj.eztm_runs = history.task_runs(obj.pk)
        return runs

    def _action_url(self, action: str, pk: int) -> str:
        return reverse(f"{self.admin_site.name}:eztaskmanager_task_{action}", args=[pk])

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        """The list, with a warning when scheduled tasks have no scheduler to start them."""
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            extra_context.update(health.warning_context(request, self.admin_site))
        if is_refresh(request):
            extra_context["messages"] = []  # they wait for the next page the user opens
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
            active = history.active_run(self._runs(task))
            extra_context.update(
                subtitle=task.name,
                eztm_status_badge=display.status_badge(
                    task, self.admin_site.name, active.pk if active else None
                ),
                can_run_tasks=can_run_tasks(request),
                eztm_can_start=can_start(task),
                eztm_can_stop=can_stop(task),
                start_url=self._action_url("start", task.pk),
                stop_url=self._action_url("stop", task.pk),
                eztm_refresh=refresh_config([task]),
            )
        if is_refresh(request):
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
        scheduling: list[Any] = ["scheduling", ("repetition_rate", "repetition_period"), "timeout"]
        if obj is not None:
            scheduling.append("next_run_display")
        fieldsets: list[Any] = [
            (_("Definition"), {"fields": ("name", "command", "arguments", "category", "note")}),
            (
                _("Scheduling"),
                {"fields": scheduling, "description": self._scheduling_help(request)},
            ),
        ]
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
                    obj.cached_last_report_id,
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
            "history", history.chart(self._runs(obj), self.admin_site.name), tag="div"
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
                self._reschedule(request, obj, say=True)
            elif ARMING_FIELDS & set(form.changed_data) and obj.is_scheduled_later():
                self._book(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and form.instance.is_scheduled_later():
            self._book(request, form.instance)

    def _book(self, request: HttpRequest, task: Task) -> None:
        """Saving a schedule books it, for a user who may start tasks; others are told who can."""
        if not can_run_tasks(request):
            messages.info(
                request,
                _(
                    "%(task)s has a schedule: it is booked when a user allowed to start "
                    "tasks presses Start."
                )
                % {"task": task},
            )
            return
        self._reschedule(request, task, say=True)

    def _reschedule(self, request: HttpRequest, task: Task, say: bool = False) -> None:
        """Keep the engine's schedule in step with the edited fields (one job, never two)."""
        service = get_task_service()
        try:
            if task.is_scheduled_later():
                service.add(task)
                if say:
                    messages.success(request, taskactions.start_message(task, None))
            else:
                service.remove(task)
                if say:
                    messages.info(request, _("%(task)s is no longer scheduled.") % {"task": task})
        except TaskQueueException as exc:
            messages.error(
                request,
                _("The schedule of %(task)s could not be updated: %(error)s")
                % {"task": task, "error": exc},
            )


# Labels and help of the form's scheduling fields: "Repeat every [6] [hours]".
FORM_WORDS = {
    "scheduling": (
        _("First run"),
        _("Empty: the task runs when Start is pressed."),
    ),
    "repetition_rate": (
        _("Repeat every"),
        _("With a period: every 6 hours is 6 and hours. Empty: one run only."),
    ),
    "repetition_period": (_("Period"), ""),
}


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

    change_form_template = "eztaskmanager_admin/launchreport/change_form.html"
    # Few columns, so that the list fits a laptop with the sidebar open: the counts go
    # with the result, the reason under it, the number of lines is the log's link.
    list_display = (
        "task_display",
        "result_display",
        "started_display",
        "duration_display",
        "log_link",
    )
    list_select_related = ("task",)
    list_filter = (RunStateFilter, RunResultFilter)
    search_fields = ("task__name",)
    date_hierarchy = "invocation_datetime"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("task_link", "result_display"),
                    ("command_display", "arguments_display"),
                    ("started_at", "finished_display", "duration_display"),
                    "reason_text",
                )
            },
        ),
        (_("Log"), {"fields": ("counts_display", "log_tail_display")}),
        (
            _("Queue and worker"),
            {
                "classes": ("collapse",),
                "fields": ("queued_at", "job_id", "timeout", "worker", "pid", "heartbeat_at"),
            },
        ),
    )
    readonly_fields = (
        "task_link",
        "result_display",
        "command_display",
        "arguments_display",
        "started_at",
        "finished_display",
        "duration_display",
        "reason_text",
        "counts_display",
        "log_tail_display",
        "queued_at",
        "job_id",
        "timeout",
        "worker",
        "pid",
        "heartbeat_at",
    )

    class Media:
        css = display.ADMIN_CSS
        js = display.REFRESH_JS

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ):
        extra_context = dict(extra_context or {})
        report = self.get_object(request, object_id)
        if report is not None:
            extra_context.update(
                subtitle=report_title(report),
                eztm_refresh={"active": report.is_active, "due": None},
            )
        if is_refresh(request):
            extra_context["messages"] = []
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("task"), ordering="task__name")
    def task_display(self, obj: LaunchReport) -> str:
        return obj.task.name

    @admin.display(description=_("task"))
    def task_link(self, obj: LaunchReport) -> SafeString:
        url = reverse(f"{self.admin_site.name}:eztaskmanager_task_change", args=[obj.task_id])
        return format_html('<a href="{}">{}</a>', url, obj.task.name)

    @admin.display(description=_("result"), ordering="invocation_result")
    def result_display(self, obj: LaunchReport) -> SafeString:
        """The badge and counts; in the list, the reason (shortened) under them."""
        badge = run_result_html(obj, self.admin_site.name)
        reason = ""
        if obj.reason:
            reason = format_html(
                '<span title="{}">{}</span>', obj.reason, Truncator(obj.reason).chars(40)
            )
        return display.refresh_fragment(
            f"report-result-{obj.pk}", display.stack(badge, display.quiet(reason))
        )

    @admin.display(description=_("reason"))
    def reason_text(self, obj: LaunchReport) -> SafeString:
        return display.refresh_fragment(f"report-reason-{obj.pk}", obj.reason or "-")

    @admin.display(description=_("started"), ordering="invocation_datetime")
    def started_display(self, obj: LaunchReport) -> SafeString | str:
        if obj.state == LaunchReport.STATE_QUEUED:
            return display.stack(display.quiet(_("queued")), display.when_html(obj.queued_at))
        return display.when_html(obj.invocation_datetime)

    @admin.display(description=_("started"))
    def started_at(self, obj: LaunchReport) -> str:
        if obj.state == LaunchReport.STATE_QUEUED:
            return _("not yet (queued at %(when)s)") % {
                "when": display.local_datetime(obj.queued_at)
            }
        return display.local_datetime(obj.invocation_datetime)

    @admin.display(description=_("finished"))
    def finished_display(self, obj: LaunchReport) -> SafeString:
        return display.refresh_fragment(
            f"report-finished-{obj.pk}", display.local_datetime(obj.finished_at)
        )

    @admin.display(description=_("lines"))
    def counts_display(self, obj: LaunchReport) -> SafeString:
        return display.refresh_fragment(
            f"report-counts-{obj.pk}",
            format_html(
                "{}{}",
                number_format(obj.n_log_lines, force_grouping=True),
                display.counts_html(obj.n_log_errors, obj.n_log_warnings),
            ),
        )

    @admin.display(description=_("log"))
    def log_tail_display(self, obj: LaunchReport) -> SafeString:
        """The last lines and a link to the whole log (live while the run goes on)."""
        tail = display.report_tail(obj)
        link = format_html(
            '<a class="eztm-log-link" href="{}">{}</a>',
            display.log_url(self.admin_site.name, obj.pk, live=obj.is_active),
            _("Follow the run live") if obj.is_active else _("Open the whole log"),
        )
        return display.refresh_fragment(
            f"report-tail-{obj.pk}", format_html("{}{}", tail, link), tag="div"
        )

    @admin.display(description=_("command"))
    def command_display(self, obj: LaunchReport) -> str:
        return obj.ran_command  # what the run ran, even if the task changed since

    @admin.display(description=_("arguments"))
    def arguments_display(self, obj: LaunchReport) -> SafeString | str:
        return format_html("<code>{}</code>", obj.ran_arguments) if obj.ran_arguments else "-"

    @admin.display(description=_("duration"))
    def duration_display(self, obj: LaunchReport) -> SafeString:
        return display.refresh_fragment(
            f"report-duration-{obj.pk}", display.format_duration(display.run_duration(obj))
        )

    @admin.display(description=_("log"), ordering="n_log_lines")
    def log_link(self, obj: LaunchReport) -> SafeString:
        """The log's size, as a link to it (the live viewer while the run goes on)."""
        lines = ngettext("%(n)s line", "%(n)s lines", obj.n_log_lines) % {
            "n": number_format(obj.n_log_lines, force_grouping=True)
        }
        return format_html(
            '<a class="eztm-log-link" href="{}" title="{}">{}</a>',
            display.log_url(self.admin_site.name, obj.pk, live=obj.is_active),
            _("Show the log messages"),
            lines,
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


def report_title(report: LaunchReport) -> str:
    """A run's title in the site's time zone, with its result (or state) as the pages show it."""
    if report.state == LaunchReport.STATE_FINISHED:
        label = display.RESULT_LABELS.get(report.invocation_result, report.invocation_result)
    else:
        label = str(display.STATE_LABELS.get(report.state, report.state)).upper()
    return f"{report.task} · {display.local_datetime(report.invocation_datetime)} · {label}"


admin.site.register(ProcessHeartbeat, health.ProcessHeartbeatAdmin)
