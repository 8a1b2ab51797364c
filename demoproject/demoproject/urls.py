"""URLs of the demo project: the admin, and the task log viewer pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The log viewer, live log viewer and their JSON endpoint (namespace "eztaskmanager").
    path("eztaskmanager/", include("eztaskmanager_admin.urls")),
]
