"""What a project upgraded from django-eztaskmanager 0.5 finds with the admin package (issue 18).

0.5's viewer addresses answer under ``include("eztaskmanager.urls")``, and
``eztaskmanager.admin`` gives the admin classes without registering anything twice.
"""

import pytest
from django.contrib import admin
from django.test import override_settings
from django.urls import clear_url_caches, include, path

from eztaskmanager.models import Task


class OldURLConf:
    """A project's URLs as 0.5 documents them."""

    urlpatterns = [
        path("admin/", admin.site.urls),
        path("eztaskmanager/", include("eztaskmanager.urls")),
    ]


class PrefixedURLConf:
    urlpatterns = [
        path("admin/", admin.site.urls),
        path("ops/tasks/", include("eztaskmanager.urls")),
    ]


@pytest.fixture
def urlconf():
    def use(conf):
        clear_url_caches()
        return override_settings(ROOT_URLCONF=conf)

    yield use
    clear_url_caches()


@pytest.mark.parametrize(
    ("old", "new"),
    [("logviewer", "log_viewer"), ("livelogviewer", "live_log_viewer")],
)
def test_old_viewer_addresses_redirect_to_the_viewer(urlconf, client_as, report, old, new):
    finished = report([("ERROR", "boom"), ("INFO", "ok")])
    client = client_as("superuser")
    with urlconf(OldURLConf):
        response = client.get(f"/eztaskmanager/{old}/{finished.pk}/?log_level=error")
        assert response.status_code == 301
        assert response["Location"] == f"/eztaskmanager/{new}/{finished.pk}/?log_level=error"
        page = client.get(response["Location"])
    assert page.status_code == 200 and finished.task.name.encode() in page.content


def test_old_viewer_address_keeps_the_prefix_it_was_mounted_at(urlconf, client_as, report):
    finished = report()
    with urlconf(PrefixedURLConf):
        response = client_as("anonymous").get(f"/ops/tasks/logviewer/{finished.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/ops/tasks/log_viewer/{finished.pk}/"


def test_old_json_address_serves_the_lines(urlconf, client_as, report):
    finished = report([("INFO", f"line {n}") for n in range(5)])
    with urlconf(OldURLConf):
        body = client_as("superuser").get(f"/eztaskmanager/read_loglines/{finished.pk}/?offset=3")
        denied = client_as("anonymous").get(f"/eztaskmanager/read_loglines/{finished.pk}/")
    assert body.status_code == 200
    page = body.json()
    assert page["log_size"] == 5 and page["task_status"]
    assert [line["message"] for line in page["new_log_lines"]] == ["line 3", "line 4"]
    assert denied.status_code == 403


def test_old_admin_module_gives_the_admin_classes():
    import eztaskmanager_admin.admin as new
    from eztaskmanager.admin import (
        AppCommandAdmin,
        LaunchReportAdmin,
        LaunchReportInline,
        TaskAdmin,
        TaskCategoryAdmin,
    )

    assert (TaskAdmin, LaunchReportAdmin, LaunchReportInline) == (
        new.TaskAdmin,
        new.LaunchReportAdmin,
        new.LaunchReportInline,
    )
    assert (AppCommandAdmin, TaskCategoryAdmin) == (new.AppCommandAdmin, new.TaskCategoryAdmin)
    assert type(admin.site._registry[Task]) is TaskAdmin


def test_autodiscovery_registers_the_models_once():
    import eztaskmanager.admin  # noqa: F401 - what autodiscover imports for the core app

    admin.autodiscover()  # imports every app's admin module again: nothing is registered twice
    registered = [
        model for model in admin.site._registry if model._meta.app_label == "eztaskmanager"
    ]
    assert len(registered) == len(set(registered)) and Task in registered


def test_a_project_can_register_a_subclass_of_the_old_import():
    from eztaskmanager.admin import TaskAdmin

    class ProjectTaskAdmin(TaskAdmin):
        list_per_page = 10

    site = admin.AdminSite(name="project")
    site.register(Task, ProjectTaskAdmin)
    assert isinstance(site._registry[Task], TaskAdmin)
