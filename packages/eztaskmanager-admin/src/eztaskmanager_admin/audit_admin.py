"""The Audit events section (and the columns of the last events on a task's page,
:class:`~eztaskmanager_admin.inlines.TaskAuditInline`): who did what to a task, when, and
through what (the admin, the API, a schedule, a chain, code).

The core writes the events (:mod:`eztaskmanager.audit`); here they are only read, by users
with the view permission on audit events (``eztaskmanager.view_auditevent``). Nobody adds,
changes or deletes one here, superusers included: a trail that can be edited proves nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from eztaskmanager import origins
from eztaskmanager.models import AuditEvent, LaunchReport, Task
from eztaskmanager_admin import display
from eztaskmanager_admin.pages import page_url


class AuditLinks:
    """The columns the list and the task page's inline share: who, the task, the report."""

    admin_site: admin.AdminSite

    @admin.display(description=_("when"), ordering="at")
    def when_display(self, obj: AuditEvent) -> SafeString | str:
        return display.when_html(obj.at)

    @admin.display(description=_("user"), ordering="username")
    def who_display(self, obj: AuditEvent) -> str:
        """The user's name as it was; what acted, when no user did (a schedule, code)."""
        return obj.username or str(origins.LABELS.get(obj.source, obj.source))

    @admin.display(description=_("task"), ordering="task_name")
    def task_link(self, obj: AuditEvent) -> SafeString | str:
        """The task's name as it was, a link to the task while it still exists."""
        if obj.task_id is None:
            return obj.task_name
        url = page_url(self.admin_site.name, Task, "change", obj.task_id)
        return format_html('<a href="{}">{}</a>', url, obj.task_name)

    @admin.display(description=_("report"))
    def report_link(self, obj: AuditEvent) -> SafeString | str:
        """A link to the run's report, for a user who may see it (:func:`with_report_access`)."""
        if obj.report_id is None:
            return "-"
        if not getattr(obj, "eztm_report_visible", False):
            return f"#{obj.report_id}"
        url = page_url(self.admin_site.name, LaunchReport, "change", obj.report_id)
        return format_html('<a href="{}">#{}</a>', url, obj.report_id)

    @admin.display(description=_("detail"))
    def detail_display(self, obj: AuditEvent) -> SafeString | str:
        if not obj.detail:
            return "-"
        return format_html(
            '<span title="{}">{}</span>', obj.detail, Truncator(obj.detail).chars(80)
        )


def with_report_access(request: HttpRequest, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """The events, each knowing whether ``request``'s user may open its report."""
    return events.annotate(
        eztm_report_visible=display.report_visible(request.user, "report__started_by_id")
    )


class ReadOnlyAudit:
    """Nobody adds, changes or deletes an audit event through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditEventAdmin(ReadOnlyAudit, AuditLinks, admin.ModelAdmin):
    """The audit trail: every action on every task, newest first, filtered and searched."""

    list_display = (
        "when_display",
        "who_display",
        "action",
        "source",
        "task_link",
        "report_link",
        "detail_display",
    )
    list_display_links = ("when_display",)
    list_filter = ("action", "source", ("user", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "at"
    search_fields = ("task_name", "username", "detail")
    # No join for the columns: the task's and user's names are kept on the event, the task
    # and the report are linked by id; get_queryset adds the report's user for its link.
    list_select_related = False
    fields = (
        "when_display",
        "action",
        "source",
        "who_display",
        "task_link",
        "report_link",
        "detail",
    )
    readonly_fields = fields

    class Media:
        css = display.ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return with_report_access(request, super().get_queryset(request))
