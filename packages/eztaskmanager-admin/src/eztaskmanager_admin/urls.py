"""The log viewer URLs: ``path("eztaskmanager/", include("eztaskmanager_admin.urls"))``.

Namespace and names are the seed's (contract): ``eztaskmanager:log_viewer``,
``eztaskmanager:live_log_viewer`` and ``eztaskmanager:ajax_read_log_lines``, each taking
the report's pk; ``eztaskmanager:log_text`` serves the raw text. The JSON API, version 1,
is at ``api/v1/`` (names ``eztaskmanager:api-...``, see :mod:`eztaskmanager_admin.api`).
"""

from django.urls import include, path

from eztaskmanager_admin.views import LogLinesView, LogTextView, LogViewerView

app_name = "eztaskmanager"

urlpatterns = [
    path("log_viewer/<int:pk>/", LogViewerView.as_view(), name="log_viewer"),
    path("live_log_viewer/<int:pk>/", LogViewerView.as_view(live=True), name="live_log_viewer"),
    path("ajax_read_log_lines/<int:pk>/", LogLinesView.as_view(), name="ajax_read_log_lines"),
    path("log_text/<int:pk>/", LogTextView.as_view(), name="log_text"),
    path("api/v1/", include("eztaskmanager_admin.api.urls")),
]
