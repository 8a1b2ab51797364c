"""Who may open the log views and press Start/Stop: the matrix of roles, for every view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eztaskmanager.models import LaunchReport
from tests.conftest import ROLES

ALLOWED = {"permitted", "superuser"}


def log_urls(report_id: int) -> list[tuple[str, bool]]:
    """(url, is the JSON endpoint) of every log view, in both URL sets."""
    urls = []
    for name in ("log_viewer", "live_log_viewer", "ajax_read_log_lines", "log_text"):
        urls.append((reverse(f"eztaskmanager:{name}", args=[report_id]), False))
        urls.append((reverse(f"admin:eztaskmanager_launchreport_{name}", args=[report_id]), True))
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_log_views_need_staff_and_the_view_permission(client_as, report, role):
    target = report([("INFO", "secret line")])
    client = client_as(role)
    for url, in_admin in log_urls(target.pk):
        response = client.get(url)
        if role in ALLOWED:
            assert response.status_code == 200, url
        elif role == "staff":
            assert response.status_code == 403, url
        elif "ajax_read_log_lines" in url and not in_admin:
            # A script polling the JSON endpoint gets a JSON error, not a login page.
            assert response.status_code == 403, url
            assert "error" in response.json()
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url
        if response.status_code != 200:
            assert b"secret line" not in response.content


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["start", "stop"])
def test_start_and_stop_need_the_run_permission(client_as, task, role, action):
    target = task()
    client = client_as(role)
    response = client.post(reverse(f"admin:eztaskmanager_task_{action}", args=[target.pk]))
    runs = LaunchReport.objects.filter(task=target).count()
    if role in ALLOWED:
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:eztaskmanager_task_changelist")
        assert runs == (1 if action == "start" else 0)
    else:
        assert response.status_code == (403 if role == "staff" else 302)
        assert runs == 0


@pytest.mark.parametrize("action", ["start", "stop"])
def test_a_get_never_starts_anything(client_as, task, action):
    target = task()
    response = client_as("superuser").get(
        reverse(f"admin:eztaskmanager_task_{action}", args=[target.pk])
    )
    assert response.status_code == 405
    assert not LaunchReport.objects.filter(task=target).exists()


@pytest.mark.parametrize("action", ["start", "stop"])
def test_start_and_stop_refuse_a_post_without_csrf_token(client_as, task, action):
    target = task()
    client = client_as("superuser", csrf=True)
    response = client.post(reverse(f"admin:eztaskmanager_task_{action}", args=[target.pk]))
    assert response.status_code == 403
    assert not LaunchReport.objects.filter(task=target).exists()


def test_start_with_the_csrf_token_of_the_task_page_works(client_as, task):
    target = task()
    client = client_as("superuser", csrf=True)
    page = client.get(reverse("admin:eztaskmanager_task_change", args=[target.pk]))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk]),
        {"csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    assert LaunchReport.objects.filter(task=target).count() == 1


@pytest.mark.parametrize("role", ROLES)
def test_run_buttons_show_only_to_who_may_press_them(client_as, task, role):
    target = task()
    response = client_as(role).get(reverse("admin:eztaskmanager_task_changelist"))
    if role in ("anonymous", "nonstaff"):
        assert response.status_code == 302
        return
    if role == "staff":
        assert response.status_code == 403  # no view permission on tasks at all
        return
    start = reverse("admin:eztaskmanager_task_start", args=[target.pk])
    assert f'formaction="{start}"' in response.content.decode()
