"""Who may open the log views and press Start/Stop: the matrix of roles, for every view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from tests import conftest
from tests.backends import SchedulingBackend

# The conftest's roles, and two more: "viewer" may only look (tasks and logs); "changer"
# may also add and change tasks, but not start or stop them (no run_task). Both read every
# run's log (view_all_reports; who sees only their own runs: test_report_visibility.py).
ROLES = [*conftest.ROLES, "viewer", "changer"]
EXTRA_ROLES = {
    "viewer": ["view_task", "view_launchreport", "view_all_reports"],
    "changer": ["view_task", "add_task", "change_task", "view_launchreport", "view_all_reports"],
}
ALLOWED = {"permitted", "superuser"}
LOG_READERS = {*ALLOWED, "viewer", "changer"}


@pytest.fixture
def client_as(client_as):
    """``client_as(role)`` for every role of ``ROLES``."""

    def make(role: str, csrf: bool = False) -> Client:
        if role not in EXTRA_ROLES:
            return client_as(role, csrf)
        user = User.objects.create_user(role, f"{role}@example.com", "pw", is_staff=True)
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="eztaskmanager", codename__in=EXTRA_ROLES[role]
            )
        )
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(user)
        return client

    return make


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
        if role in LOG_READERS:
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
        if action == "start":  # to the run's live log
            run = LaunchReport.objects.get(task=target)
            landing = reverse("admin:eztaskmanager_launchreport_live_log_viewer", args=[run.pk])
        else:
            landing = reverse("admin:eztaskmanager_task_changelist")
        assert response["Location"] == landing
        assert runs == (1 if action == "start" else 0)
    else:
        assert response.status_code == (302 if role in ("anonymous", "nonstaff") else 403)
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
    assert (f'formaction="{start}"' in response.content.decode()) == (role in ALLOWED)


def edit_form(task: Task, **changes) -> dict[str, str]:
    """The change form's data for ``task``, with ``changes``."""
    local = timezone.localtime(task.scheduling) if task.scheduling else None
    data = {
        "name": task.name,
        "command": str(task.command_id),
        "arguments": task.arguments,
        "note": task.note,
        "scheduling_0": local.strftime("%Y-%m-%d") if local else "",
        "scheduling_1": local.strftime("%H:%M:%S") if local else "",
        "repetition_period": task.repetition_period,
        "repetition_rate": str(task.repetition_rate or ""),
        "timeout": str(task.timeout or ""),
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


@pytest.fixture
def scheduled_task(task):
    """A periodic task, scheduled on the in-memory engine of tests.backends."""
    SchedulingBackend.jobs.clear()
    with override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"}):
        start = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
        target = task(scheduling=start, repetition_period="hour", repetition_rate=1)
        SchedulingBackend().add(target)
        target.refresh_from_db()
        assert target.status == Task.STATUS_SCHEDULED
        yield target
    SchedulingBackend.jobs.clear()


@pytest.mark.parametrize("role", ROLES)
def test_changing_what_a_scheduled_task_runs_needs_the_run_permission(
    client_as, scheduled_task, role
):
    """Saving the form re-arms the schedule with the new fields: only for who may start it."""
    handle, jobs = scheduled_task.scheduled_job_id, dict(SchedulingBackend.jobs)
    later = scheduled_task.scheduling + timedelta(days=1)
    data = edit_form(
        scheduled_task,
        arguments="--limit=99,--sleep=0",
        scheduling_0=timezone.localtime(later).strftime("%Y-%m-%d"),
    )
    url = reverse("admin:eztaskmanager_task_change", args=[scheduled_task.pk])
    response = client_as(role).post(url, data)
    scheduled_task.refresh_from_db()
    if role in ALLOWED:
        assert response.status_code == 302
        assert scheduled_task.arguments == "--limit=99,--sleep=0"
        assert scheduled_task.scheduled_job_id in SchedulingBackend.jobs  # re-armed, once
        assert list(SchedulingBackend.jobs.values()) == [scheduled_task.scheduling]
        return
    # Nothing changed: neither the fields nor the schedule the engine holds.
    assert scheduled_task.arguments == "--limit=3,--sleep=0"
    assert (scheduled_task.scheduled_job_id, SchedulingBackend.jobs) == (handle, jobs)
    if role == "changer":
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert sorted(errors) == ["arguments", "scheduling"]
        assert "only a user who may start tasks" in errors["arguments"][0]
    elif role in ("anonymous", "nonstaff"):
        assert response.status_code == 302
    else:
        assert response.status_code == 403


def test_a_changer_may_still_edit_the_rest_of_a_scheduled_task(client_as, scheduled_task):
    handle = scheduled_task.scheduled_job_id
    url = reverse("admin:eztaskmanager_task_change", args=[scheduled_task.pk])
    response = client_as("changer").post(url, edit_form(scheduled_task, note="on call: Ann"))
    assert response.status_code == 302
    scheduled_task.refresh_from_db()
    assert scheduled_task.note == "on call: Ann"
    assert (scheduled_task.status, scheduled_task.scheduled_job_id) == ("scheduled", handle)
    assert list(SchedulingBackend.jobs) == [handle]


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_a_changer_edits_an_idle_task_without_arming_it(client_as, task):
    target = task()
    later = timezone.now() + timedelta(days=1)
    data = edit_form(
        target,
        arguments="--limit=5,--sleep=0",
        scheduling_0=timezone.localtime(later).strftime("%Y-%m-%d"),
        scheduling_1="10:00:00",
        repetition_period="day",
        repetition_rate="1",
    )
    url = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    assert client_as("changer").post(url, data).status_code == 302
    target.refresh_from_db()
    assert (target.arguments, target.repetition_period) == ("--limit=5,--sleep=0", "day")
    assert (target.status, target.scheduled_job_id) == ("idle", "")
    assert SchedulingBackend.jobs == {}
    assert not LaunchReport.objects.filter(task=target).exists()


def test_a_changer_may_not_change_what_a_queued_run_will_run(client_as, task):
    target = task()
    target.queue_run("job-1")
    url = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    response = client_as("changer").post(url, edit_form(target, arguments="--limit=7"))
    assert response.status_code == 200
    assert "queued" in response.context["adminform"].form.errors["arguments"][0]
    target.refresh_from_db()
    assert target.arguments == "--limit=3,--sleep=0"


def test_a_changer_may_add_a_scheduled_task_which_stays_idle(client_as, command):
    later = timezone.localtime(timezone.now() + timedelta(days=1))
    data = {
        "name": "added by a changer",
        "command": str(command().pk),
        "arguments": "--limit=1,--sleep=0",
        "scheduling_0": later.strftime("%Y-%m-%d"),
        "scheduling_1": "10:00:00",
        "repetition_period": "",
        "repetition_rate": "",
        "timeout": "",
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }
    response = client_as("changer").post(reverse("admin:eztaskmanager_task_add"), data)
    assert response.status_code == 302
    added = Task.objects.get(name="added by a changer")
    assert (added.status, added.scheduled_job_id) == ("idle", "")


@pytest.mark.parametrize("role", ["changer", "permitted"])
def test_the_changelist_applies_the_same_rule(client_as, scheduled_task, role, monkeypatch):
    """Were the list made editable, a changer could not change a scheduled task there either."""

    task_admin = admin.site._registry[Task]
    monkeypatch.setattr(task_admin, "list_editable", ("arguments",))
    monkeypatch.setattr(task_admin, "list_display", ("name_display", "arguments"))
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(scheduled_task.pk),
        "form-0-arguments": "--limit=42,--sleep=0",
        "_save": "Save",
    }
    response = client_as(role).post(reverse("admin:eztaskmanager_task_changelist"), data)
    scheduled_task.refresh_from_db()
    if role == "changer":
        assert response.status_code == 200
        assert "only a user who may start tasks" in response.content.decode()
        assert scheduled_task.arguments == "--limit=3,--sleep=0"
    else:
        assert response.status_code == 302
        assert scheduled_task.arguments == "--limit=42,--sleep=0"
