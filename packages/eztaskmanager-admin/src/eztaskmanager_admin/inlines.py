"""Read-only lists of related rows on a page: a task's last reports and audit events, a
category's tasks.

Reports are those the user may see (:mod:`eztaskmanager.permissions`); a link to another
is not given.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import AuditEvent, LaunchReport, Task
from eztaskmanager.permissions import visible_reports
from eztaskmanager_admin import display
from eztaskmanager_admin.audit_admin import AuditLinks, ReadOnlyAudit, with_report_access
from eztaskmanager_admin.pages import page_url

# Events on a task's page; the link under them opens the whole list, filtered to the task.
INLINE_EVENTS = 20


class ReadOnlyInline(admin.TabularInline):
    """Rows shown, never added nor edited here."""

    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LaunchReportInline(ReadOnlyInline):
    """The task's last reports, newest first, with the tail of each log."""

    model = LaunchReport
    can_delete = True
    fields = (
        "result_display",
        "started_display",
        "started_by_display",
        "duration_display",
        "log_tail_display",
    )
    readonly_fields = fields
    ordering = ("-invocation_datetime",)
    verbose_name_plural = _("reports")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Only the reports the user may see (the runs they started, without view_all_reports)."""
        return visible_reports(request.user, super().get_queryset(request)).select_related(
            "started_by"
        )

    @admin.display(description=_("result"))
    def result_display(self, obj: LaunchReport) -> SafeString | str:
        return display.run_result_html(obj, self.admin_site.name)

    @admin.display(description=_("started"))
    def started_display(self, obj: LaunchReport) -> SafeString | str:
        return display.when_html(obj.invocation_datetime)

    @admin.display(description=_("started by"))
    def started_by_display(self, obj: LaunchReport) -> str:
        return display.started_by(obj)

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


class CategoryTaskInline(ReadOnlyInline):
    """A category's tasks, on its page, with their status and last result (read only)."""

    model = Task
    show_change_link = True
    fields = ("name", "command", "status_words", "last_result")
    readonly_fields = fields
    verbose_name_plural = _("tasks")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        tasks = super().get_queryset(request).select_related("command", "cached_last_report")
        # The last result stays shown; its link only to a user who may open the report.
        return tasks.annotate(
            eztm_last_visible=display.report_visible(
                request.user, "cached_last_report__started_by_id"
            )
        )

    @admin.display(description=_("status"))
    def status_words(self, obj: Task) -> str:
        return display.STATUS_LABELS.get(obj.status, obj.status)

    @admin.display(description=_("last result"))
    def last_result(self, obj: Task) -> SafeString | str:
        report_id = obj.cached_last_report_id if obj.eztm_last_visible else None
        return display.result_badge(
            obj.cached_last_invocation_result, report_id, self.admin_site.name
        )


class LatestEvents(BaseInlineFormSet):
    """The task's last ``INLINE_EVENTS`` events (a formset cannot filter a sliced queryset:
    the slice is taken after the formset's own filter by task)."""

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[:INLINE_EVENTS]
        return self._queryset


class TaskAuditInline(ReadOnlyAudit, AuditLinks, admin.TabularInline):
    """The task's last events on its page, with a link to all of them."""

    model = AuditEvent
    formset = LatestEvents
    template = "eztaskmanager_admin/auditevent/inline.html"
    extra = 0
    max_num = 0
    fields = ("when_display", "who_display", "action", "source", "report_link", "detail_display")
    readonly_fields = fields
    ordering = ("-at", "-pk")
    verbose_name_plural = _("audit trail")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return with_report_access(request, super().get_queryset(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shown, never submitted: saving the task neither needs nor checks its formset.
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            url = page_url(self.admin_site.name, AuditEvent, "changelist")
            formset.eztm_all_events_url = f"{url}?task__id__exact={obj.pk}"
        return formset
