"""A report's artifacts in the admin: listed on its page, downloaded by who may see it.

The download answers 404 alike for an artifact that does not exist, one of a report the
user may not see (:func:`eztaskmanager.permissions.may_see_report`), and a user without
the permission to view reports: none of them tells that the file exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import FileResponse, Http404, HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from eztaskmanager.artifacts import open_artifact
from eztaskmanager.models import Artifact, LaunchReport
from eztaskmanager.permissions import may_see_report
from eztaskmanager_admin import display
from eztaskmanager_admin.access import can_view_logs
from eztaskmanager_admin.inlines import ReadOnlyInline
from eztaskmanager_admin.pages import page_url

DOWNLOAD_PAGE = "artifact_download"


class ArtifactInline(ReadOnlyInline):
    """The files the run attached: name (a download link), size, type, when."""

    model = Artifact
    fields = ("name_link", "size_display", "content_type", "created_display")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("artifacts")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Who may read the report may see its files: no permission of their own."""
        return can_view_logs(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # they go with their report

    @admin.display(description=gettext_lazy("name"))
    def name_link(self, obj: Artifact) -> SafeString:
        url = page_url(self.admin_site.name, LaunchReport, DOWNLOAD_PAGE, obj.report_id, obj.pk)
        return format_html('<a href="{}" download>{}</a>', url, obj.name)

    @admin.display(description=gettext_lazy("size"))
    def size_display(self, obj: Artifact) -> str:
        return filesizeformat(obj.size)

    @admin.display(description=gettext_lazy("created"))
    def created_display(self, obj: Artifact) -> str:
        return display.local_datetime(obj.created_at)


class ArtifactDownloadView(View):
    """One artifact's file, as an attachment named as the run named it."""

    admin_site: admin.AdminSite = admin.site
    url_prefix: str = ""

    def get(self, request: HttpRequest, pk: int, artifact_pk: int) -> FileResponse:
        if not can_view_logs(request):
            raise Http404
        artifact = (
            Artifact.objects.select_related("report").filter(pk=artifact_pk, report_id=pk).first()
        )
        if artifact is None or not may_see_report(request.user, artifact.report):
            raise Http404
        try:
            handle = open_artifact(artifact)
        except (FileNotFoundError, OSError) as exc:
            raise Http404(_("The file of %(name)s is missing.") % {"name": artifact.name}) from exc
        return FileResponse(
            handle,
            as_attachment=True,
            filename=artifact.name,
            content_type=artifact.content_type or None,
        )
