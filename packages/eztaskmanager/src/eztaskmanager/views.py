"""Seed compatibility: ``eztaskmanager.views`` names the log viewer views of the admin package.

:class:`OldViewerAddress` answers at django-eztaskmanager 0.5's viewer addresses (see
``eztaskmanager.urls``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.views.generic import RedirectView

try:
    from eztaskmanager_admin.views import LogLinesView as AjaxReadLogLines
    from eztaskmanager_admin.views import LogViewerView
except ImportError as exc:
    raise ImproperlyConfigured(
        'The log viewer needs the admin package: pip install "django-eztaskmanager[admin]"'
    ) from exc


class LiveLogViewerView(LogViewerView):
    """The log viewer following a running run."""

    live = True


class OldViewerAddress(RedirectView):
    """A viewer page at its 0.5 address: a permanent redirect to today's, query string kept.

    Redirected rather than served, so that the address bar, bookmarks and the links of new
    messages show one address per page; the viewer then asks for a staff login as usual.
    The redirect stays within the ``include()`` that matched, whatever its prefix.
    """

    permanent = True
    url_name = "log_viewer"

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        namespace = self.request.resolver_match.namespace
        prefix = f"{namespace}:" if namespace else ""
        url = reverse(f"{prefix}{self.url_name}", kwargs={"pk": kwargs["pk"]})
        query = self.request.META.get("QUERY_STRING", "")
        return f"{url}?{query}" if query else url


__all__ = ["AjaxReadLogLines", "LiveLogViewerView", "LogViewerView", "OldViewerAddress"]
