"""A project wired as the seed documents (``include("eztaskmanager.urls")``) keeps working."""

import pytest
from django.test import override_settings
from django.urls import clear_url_caches, include, path, reverse


class SeedURLConf:
    urlpatterns = [path("eztaskmanager/", include("eztaskmanager.urls"))]


@pytest.fixture
def seed_urls():
    clear_url_caches()
    with override_settings(ROOT_URLCONF=SeedURLConf):
        yield
    clear_url_caches()


def test_seed_url_include_serves_the_log_viewer(seed_urls, client_as, report):
    finished = report()
    url = reverse("eztaskmanager:ajax_read_log_lines", args=[finished.pk])
    assert url.startswith("/eztaskmanager/")
    response = client_as("superuser").get(url, {"offset": 0})
    assert response.status_code == 200
    body = response.json()
    assert body["log_size"] == 1 and body["task_status"]


def test_seed_view_names_import():
    from eztaskmanager.views import AjaxReadLogLines, LiveLogViewerView, LogViewerView
    from eztaskmanager_admin.views import LogLinesView
    from eztaskmanager_admin.views import LogViewerView as AdminLogViewerView

    assert AjaxReadLogLines is LogLinesView and LogViewerView is AdminLogViewerView
    assert LiveLogViewerView.live and not LogViewerView.live
