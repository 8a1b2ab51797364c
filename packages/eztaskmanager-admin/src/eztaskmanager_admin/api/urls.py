"""The API's URLs, version 1; included by ``eztaskmanager_admin.urls`` at ``api/v1/``.

No ``app_name`` here: the names (``api-task-list``, ...) live in the including
namespace, ``eztaskmanager:api-task-list``. A later, incompatible version gets its own
module and prefix (``api/v2/``), and this one stays as it is.
"""

from django.urls import path, re_path

from eztaskmanager_admin.api import views

urlpatterns = [
    path("", views.IndexView.as_view(), name="api-index"),
    path("tasks/", views.TaskListView.as_view(), name="api-task-list"),
    path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="api-task-detail"),
    path("tasks/<int:pk>/start/", views.TaskStartView.as_view(), name="api-task-start"),
    path("tasks/<int:pk>/stop/", views.TaskStopView.as_view(), name="api-task-stop"),
    path("reports/", views.ReportListView.as_view(), name="api-report-list"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="api-report-detail"),
    path("reports/<int:pk>/lines/", views.ReportLinesView.as_view(), name="api-report-lines"),
    path("reports/<int:pk>/stop/", views.ReportStopView.as_view(), name="api-report-stop"),
    path(
        "reports/<int:pk>/artifacts/<int:artifact_id>/",
        views.ArtifactView.as_view(),
        name="api-artifact",
    ),
    # Anything else under the API: a JSON 404 rather than the site's HTML page.
    re_path(r"^.*$", views.not_found_view, name="api-not-found"),
]
