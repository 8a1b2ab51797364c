from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("eztaskmanager/", include("eztaskmanager_admin.urls")),
]
