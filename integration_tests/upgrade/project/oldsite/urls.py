"""The project's URLs as django-eztaskmanager 0.5.3 documents them, unchanged by the upgrade."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("eztaskmanager/", include("eztaskmanager.urls")),
]
