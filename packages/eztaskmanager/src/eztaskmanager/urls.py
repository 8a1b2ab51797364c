"""Seed compatibility: ``include("eztaskmanager.urls")`` serves the admin package's log viewer.

New projects include ``eztaskmanager_admin.urls`` directly; both give the URL namespace
``eztaskmanager`` with ``log_viewer``, ``live_log_viewer`` and ``ajax_read_log_lines``.
The admin package's URLs are loaded by their dotted path, so that the core imports no
plug-in. This module also answers at django-eztaskmanager 0.5's addresses, which every
notification 0.5 sent links to: ``logviewer/<pk>/`` and ``livelogviewer/<pk>/`` redirect
(permanently, with their query string) to the viewer, ``read_loglines/<pk>/`` serves the
JSON of the log as ``ajax_read_log_lines`` does.
"""

from importlib import import_module

from django.core.exceptions import ImproperlyConfigured
from django.urls import path

from eztaskmanager.views import OldViewerAddress

try:
    viewer_urls = import_module("eztaskmanager_admin.urls")
    viewer_views = import_module("eztaskmanager_admin.views")
except ImportError as exc:
    raise ImproperlyConfigured(
        'The log viewer pages need the admin package: pip install "django-eztaskmanager[admin]"'
    ) from exc

app_name = viewer_urls.app_name
urlpatterns = [
    *viewer_urls.urlpatterns,
    # 0.5's addresses (no names: the names above are the seed's, and reverse to the new ones).
    path("logviewer/<int:pk>/", OldViewerAddress.as_view(url_name="log_viewer")),
    path("livelogviewer/<int:pk>/", OldViewerAddress.as_view(url_name="live_log_viewer")),
    path("read_loglines/<int:pk>/", viewer_views.LogLinesView.as_view()),
]

__all__ = ["app_name", "urlpatterns"]
