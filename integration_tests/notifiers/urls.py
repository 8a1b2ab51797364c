"""The log viewer's URL name, so notifications carry a link, without the admin package."""

from django.http import HttpResponse
from django.urls import include, path


def log_viewer(request, pk):
    return HttpResponse(str(pk))


viewer = ([path("logs/<int:pk>/", log_viewer, name="log_viewer")], "eztaskmanager")
urlpatterns = [path("taskmanager/", include(viewer))]
