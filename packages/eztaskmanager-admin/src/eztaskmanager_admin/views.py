"""The log viewer pages, their JSON endpoint and the raw text view.

The same classes serve two URL sets: the admin's own (mounted by ``LaunchReportAdmin``
and wrapped by ``admin_site.admin_view``) and ``eztaskmanager_admin.urls`` (namespace
``eztaskmanager``, the seed's URL names). Each view checks access itself, so both sets
need a logged-in staff member with ``eztaskmanager.view_launchreport``; a report the user
may not see (:func:`eztaskmanager.permissions.visible_reports`) answers 404, as one that
does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from eztaskmanager.arguments import arguments_for_display
from eztaskmanager.models import LaunchReport
from eztaskmanager.permissions import only_runs_of, visible_reports
from eztaskmanager_admin import logreader
from eztaskmanager_admin.access import can_view_logs, is_staff


class ReportAccessMixin:
    """Refuse anyone but staff with the view permission on reports; build sibling URLs."""

    admin_site: admin.AdminSite = admin.site
    url_prefix: str = ""
    json_errors: bool = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Logs are private and change while a run goes on: never cached, in either URL set
        # (admin_site.admin_view does this for the admin's own; the standalone set needs it).
        response = self.checked_dispatch(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def checked_dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_staff(request):
            if self.json_errors:
                return JsonResponse({"error": _("Log in as a staff member.")}, status=403)
            return redirect_to_login(request.get_full_path(), self.login_url())
        if not can_view_logs(request):
            raise PermissionDenied(_("You may not view task logs."))
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def visible(self) -> QuerySet[LaunchReport]:
        """The reports the user may see: all, or their own runs' (without view_all_reports)."""
        return visible_reports(self.request.user, LaunchReport.objects.all())  # type: ignore[attr-defined]

    def login_url(self) -> str | None:
        try:
            return reverse(f"{self.admin_site.name}:login")
        except NoReverseMatch:
            return None  # settings.LOGIN_URL

    def sibling_url(self, name: str, pk: int) -> str:
        """The URL of another view of the same set (admin's or the standalone one)."""
        namespace = self.request.resolver_match.namespace  # type: ignore[attr-defined]
        prefix = f"{namespace}:" if namespace else ""
        return reverse(f"{prefix}{self.url_prefix}{name}", args=[pk])


class LogViewerView(ReportAccessMixin, TemplateView):
    """A report's log: header, level filters, search, raw view; ``live`` follows a running run."""

    template_name = "eztaskmanager_admin/log_viewer.html"
    live: bool = False

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        report = get_object_or_404(
            self.visible().select_related("task", "task__command"), pk=kwargs["pk"]
        )
        task = report.task
        context = super().get_context_data(**kwargs)
        context.update(self.admin_site.each_context(self.request))
        context.update(
            title=_("Log of %(task)s") % {"task": task},
            subtitle=None,
            report=report,
            task=task,
            # What this run ran with, not what the task says now.
            command=report.ran_command,
            arguments=arguments_for_display(report.ran_arguments),
            live=self.live,
            opts=LaunchReport._meta,
            task_opts=task._meta,
            admin_site_name=self.admin_site.name,
            live_url=self.sibling_url("live_log_viewer", report.pk),
            static_url=self.sibling_url("log_viewer", report.pk),
            text_url=self.sibling_url("log_text", report.pk),
            viewer_config={
                "linesUrl": self.sibling_url("ajax_read_log_lines", report.pk),
                "live": self.live,
                "firstPageSize": logreader.FIRST_PAGE_SIZE,
                "pageSize": logreader.MAX_PAGE_SIZE,
                "pollInterval": 1000,
                "finished": report.state == LaunchReport.STATE_FINISHED,
            },
        )
        return context


class LogLinesView(ReportAccessMixin, View):
    """``GET ?offset=N[&limit=M][&compact=1]``: the lines from ``offset`` on, as JSON (seed
    contract); ``?tail=M``: the last ``M`` lines (a page at most), where the response's
    ``offset`` says they begin."""

    json_errors = True

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            offset = max(int(request.GET.get("offset", 0)), 0)
            tail = request.GET.get("tail")
            tail = None if tail is None else logreader.clamp_page_size(int(tail))
        except ValueError:
            return JsonResponse({"error": _("offset and tail must be whole numbers.")}, status=400)
        limit = tail or logreader.clamp_page_size(request.GET.get("limit"))
        compact = request.GET.get("compact") == "1"
        try:
            page = logreader.page_json(
                pk,
                offset,
                limit,
                compact=compact,
                started_by=only_runs_of(request.user),
                tail=tail,
            )
        except LaunchReport.DoesNotExist:
            return JsonResponse({"error": _("No such report.")}, status=404)
        response = HttpResponse(page, content_type="application/json")
        response["Cache-Control"] = "no-store"
        return response


class LogTextView(ReportAccessMixin, View):
    """The whole log as plain text, streamed in keyset chunks (the "raw logs" page)."""

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        report = get_object_or_404(self.visible(), pk=pk)
        response = StreamingHttpResponse(
            logreader.iter_text_lines(report.pk), content_type="text/plain; charset=utf-8"
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
