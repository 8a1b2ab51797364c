"""Seed compatibility: ``eztaskmanager.views`` names the log viewer views of the admin package."""

from django.core.exceptions import ImproperlyConfigured

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


__all__ = ["AjaxReadLogLines", "LiveLogViewerView", "LogViewerView"]
