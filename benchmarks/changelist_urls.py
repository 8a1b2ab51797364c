"""The admin, the viewer's URLs, and a plain admin site whose task list has no custom column."""

from django.contrib import admin
from django.urls import include, path

from eztaskmanager.models import Task

plain_site = admin.AdminSite(name="plain")


@admin.register(Task, site=plain_site)
class PlainTaskAdmin(admin.ModelAdmin):
    """The floor of the task list: the same rows, one plain column."""

    list_display = ("name",)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("plain/", plain_site.urls),
    path("eztaskmanager/", include("eztaskmanager_admin.urls")),
]
