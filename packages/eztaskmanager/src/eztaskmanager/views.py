"""Seed compatibility: ``eztaskmanager.views`` names the log viewer views of the admin package.

They are loaded by their dotted path on first use, so that the core never imports the
UI: ``AjaxReadLogLines`` is ``eztaskmanager_admin.views.LogLinesView``, ``LogViewerView``
is the admin's, and ``LiveLogViewerView`` follows a running run. When the admin package
is not installed, the import fails naming the extra to install.
:class:`OldViewerAddress` answers at django-eztaskmanager 0.5's viewer addresses (see
``eztaskmanager.urls``).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.views.generic import RedirectView

from eztaskmanager.moved import moved_classes

# The seed's view names, and where they live now.
SEED_VIEWS = {
    "AjaxReadLogLines": ("eztaskmanager_admin.views", "LogLinesView", "admin"),
    "LogViewerView": ("eztaskmanager_admin.views", "LogViewerView", "admin"),
}
_moved = moved_classes(__name__, SEED_VIEWS, "package")
# Every name this module gives on first use.
LAZY_NAMES = (*SEED_VIEWS, "LiveLogViewerView")


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


def __getattr__(name: str) -> type:
    if name != "LiveLogViewerView":
        return _moved(name)
    live = type(
        name,
        (_moved("LogViewerView"),),
        {
            "live": True,
            "__module__": __name__,
            "__doc__": "The log viewer following a running run.",
        },
    )
    globals()[name] = live  # built once
    return live


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


__all__ = [*LAZY_NAMES, "OldViewerAddress"]
