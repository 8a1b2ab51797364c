"""The Launch reports section: reports are written by runs; read them, open their log, delete them.

The log viewer's pages are mounted here, in the admin's own URLs (the views are
:mod:`eztaskmanager_admin.views`, shared with ``eztaskmanager_admin.urls``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import path
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.permissions import visible_reports
from eztaskmanager_admin import display
from eztaskmanager_admin.artifact_admin import DOWNLOAD_PAGE, ArtifactDownloadView, ArtifactInline
from eztaskmanager_admin.filters import RunResultFilter, RunStateFilter
from eztaskmanager_admin.pages import page_name, page_url
from eztaskmanager_admin.views import LogLinesView, LogTextView, LogViewerView


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
        "started_by_display",
        "log_link",
    )
    list_select_related = ("task", "started_by")
    list_filter = (
        RunStateFilter,
        RunResultFilter,
        "origin",
        ("started_by", admin.RelatedOnlyFieldListFilter),
    )
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
                    ("started_by_display", "attempt_display"),
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
        "started_by_display",
        "attempt_display",
        "counts_display",
        "log_tail_display",
        "queued_at",
        "job_id",
        "timeout",
        "worker",
        "pid",
        "heartbeat_at",
    )
    inlines = (ArtifactInline,)  # the files the run attached (ArtifactInline)

    class Media:
        css = display.ADMIN_CSS
        js = display.REFRESH_JS

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ):
        extra_context = dict(extra_context or {})
        report = self.visible_or_404(request, object_id)
        extra_context.update(
            subtitle=report_title(report),
            eztm_refresh={"active": report.is_active, "due": None},
        )
        if display.is_refresh(request):
            extra_context["messages"] = []
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None):
        self.visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None):
        self.visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LaunchReport]:
        """The reports ``request``'s user may see: all, with ``view_all_reports``, else their runs'."""
        return visible_reports(request.user, super().get_queryset(request))

    def visible_or_404(self, request: HttpRequest, object_id: str) -> LaunchReport:
        """The report, or 404 alike for a report that does not exist and one not visible:
        Django's redirect for a missing object would tell the two apart."""
        report = self.get_object(request, unquote(object_id))
        if report is None:
            raise Http404(_("No such report."))
        return report

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("task"), ordering="task__name")
    def task_display(self, obj: LaunchReport) -> str:
        return obj.task.name

    @admin.display(description=_("task"))
    def task_link(self, obj: LaunchReport) -> SafeString:
        url = page_url(self.admin_site.name, Task, "change", obj.task_id)
        return format_html('<a href="{}">{}</a>', url, obj.task.name)

    @admin.display(description=_("result"), ordering="invocation_result")
    def result_display(self, obj: LaunchReport) -> SafeString:
        """The badge and counts; in the list, the reason (shortened) under them."""
        badge = display.run_result_html(obj, self.admin_site.name)
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
        shown = format_html("<code>{}</code>", obj.ran_arguments) if obj.ran_arguments else "-"
        if obj.custom_arguments:  # Run now with...: not the task's
            return format_html("{} ({})", shown, _("for this run only"))
        return shown

    @admin.display(description=_("attempt"))
    def attempt_display(self, obj: LaunchReport) -> SafeString | str:
        """Which attempt of the task the run is, linked to the first; due time of a retry."""
        if obj.attempt <= 1:
            return "-"
        text = _("%(attempt)d, a retry") % {"attempt": obj.attempt}
        if obj.first_attempt_id:
            url = page_url(self.admin_site.name, LaunchReport, "change", obj.first_attempt_id)
            text = format_html('{} (<a href="{}">{}</a>)', text, url, _("the first attempt"))
        if obj.state == obj.STATE_QUEUED and obj.not_before:
            text = format_html(
                "{}; {} {}", text, _("due at"), display.local_datetime(obj.not_before)
            )
        return text

    @admin.display(description=_("started by"), ordering="origin")
    def started_by_display(self, obj: LaunchReport) -> str:
        return display.started_by(obj)

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
        options = {"admin_site": self.admin_site, "url_prefix": page_name(LaunchReport, "")}
        views = [
            ("<int:pk>/log/", "log_viewer", LogViewerView.as_view(**options)),
            ("<int:pk>/log/live/", "live_log_viewer", LogViewerView.as_view(live=True, **options)),
            ("<int:pk>/log/lines/", "ajax_read_log_lines", LogLinesView.as_view(**options)),
            ("<int:pk>/log/text/", "log_text", LogTextView.as_view(**options)),
            (
                "<int:pk>/artifacts/<int:artifact_pk>/",
                DOWNLOAD_PAGE,
                ArtifactDownloadView.as_view(**options),
            ),
        ]
        return [
            *(
                path(route, wrap(view), name=page_name(LaunchReport, name))
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
