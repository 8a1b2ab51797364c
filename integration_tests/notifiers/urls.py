"""The admin and the log viewer, which every notification links to."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("taskmanager/", include("eztaskmanager_admin.urls")),
]
