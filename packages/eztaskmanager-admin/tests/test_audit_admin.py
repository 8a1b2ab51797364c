"""The audit trail in the admin: what the buttons and edits record, the Audit events list
(filters, search, read-only, a constant number of queries) and the task page's last events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from eztaskmanager import audit
from eztaskmanager.models import AuditEvent, LaunchReport, Task
from eztaskmanager.origins import ADMIN, SCHEDULE, Origin
from tests.backends import SchedulingBackend

EVENTS = "admin:eztaskmanager_auditevent_changelist"
QUEUEING = {"BACKEND": "tests.backends.QueueingBackend"}
SCHEDULING = {"BACKEND": "tests.backends.SchedulingBackend"}


def trail(task: Task) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(task=task)
        .order_by("pk")
        .values_list("action", "source", "username", "report_id")
    )


def staff(name: str, *codenames: str) -> tuple[User, Client]:
    user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="eztaskmanager", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return user, client


def shown(client: Client, **params) -> list[int]:
    response = client.get(reverse(EVENTS), params)
    assert response.status_code == 200
    return [event.pk for event in response.context["cl"].result_list]


@override_settings(EZTASKMANAGER=QUEUEING)
def test_start_and_stop_buttons_are_recorded_with_the_user_and_the_run(client_as, task):
    target = task(name="nightly")
    client = client_as("superuser")
    client.post(reverse("admin:eztaskmanager_task_start", args=[target.pk]))
    run = LaunchReport.objects.get(task=target)
    assert (run.origin, run.started_by.username) == (ADMIN, "root")
    client.post(reverse("admin:eztaskmanager_task_stop", args=[target.pk]))
    assert trail(target) == [
        ("started", ADMIN, "root", run.pk),
        ("stopped", ADMIN, "root", run.pk),
    ]
    html = client.get(reverse(EVENTS)).content.decode()
    task_url = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    report_url = reverse("admin:eztaskmanager_launchreport_change", args=[run.pk])
    assert f'<a href="{task_url}">nightly</a>' in html
    assert f'<a href="{report_url}">#{run.pk}</a>' in html
    assert html.count('<td class="field-who_display">root</td>') == 2


@override_settings(EZTASKMANAGER=SCHEDULING)
def test_scheduling_and_unscheduling_from_the_admin_are_recorded(client_as, task):
    SchedulingBackend.jobs.clear()
    target = task(scheduling=timezone.now() + timedelta(days=1))
    client = client_as("superuser")
    client.post(reverse("admin:eztaskmanager_task_start", args=[target.pk]))
    target.refresh_from_db()
    assert target.scheduled_by.username == "root"
    client.post(reverse("admin:eztaskmanager_task_stop", args=[target.pk]))
    assert trail(target) == [
        ("scheduled", ADMIN, "root", None),
        ("unscheduled", ADMIN, "root", None),
    ]
    SchedulingBackend.jobs.clear()


def test_edits_are_recorded_here_and_in_djangos_history_too(client_as, command):
    cmd = command()
    client = client_as("superuser")
    data = {
        "name": "Import",
        "command": cmd.pk,
        "arguments": "--limit=5,--sleep=0",
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }
    assert client.post(reverse("admin:eztaskmanager_task_add"), data).status_code == 302
    created = Task.objects.get(name="Import")
    change = reverse("admin:eztaskmanager_task_change", args=[created.pk])
    response = client.post(change, {**data, "arguments": "--limit=6,--sleep=0"})
    assert response.status_code == 302
    assert [row[:3] for row in trail(created)] == [
        ("created", ADMIN, "root"),
        ("changed", ADMIN, "root"),
    ]
    assert "Arguments" in AuditEvent.objects.get(action="changed").detail
    # Django's History button still has the edits (LogEntry), not the starts and stops.
    assert LogEntry.objects.filter(object_id=str(created.pk)).count() == 2

    delete = reverse("admin:eztaskmanager_task_delete", args=[created.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    deleted = AuditEvent.objects.get(action="deleted")
    assert (deleted.task_id, deleted.task_name, deleted.username) == (None, "Import", "root")
    # The deleted task's events stay, by its name, without a link to it.
    html = client.get(reverse(EVENTS), {"q": "Import"}).content.decode()
    assert html.count('<td class="field-task_link">Import</td>') == 3


def test_the_list_filters_by_action_source_user_task_and_date_and_searches(client_as, task):
    client = client_as("superuser")
    root = User.objects.get(username="root")
    alice, _ = staff("alice")
    first, second = task(name="first"), task(name="second")
    started = audit.record(audit.STARTED, first, Origin(ADMIN, root))
    scheduled = audit.record(audit.SCHEDULED, second, Origin(ADMIN, alice))
    fired = audit.record(audit.STARTED, second, Origin(SCHEDULE), detail="fired at noon")
    old = audit.record(audit.CHANGED, first, Origin(ADMIN, alice))
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=400))
    old.refresh_from_db()

    assert shown(client) == [fired.pk, scheduled.pk, started.pk, old.pk]
    assert shown(client, action__exact="started") == [fired.pk, started.pk]
    assert shown(client, source__exact="schedule") == [fired.pk]
    assert shown(client, user__id__exact=alice.pk) == [scheduled.pk, old.pk]
    assert shown(client, task__id__exact=first.pk) == [started.pk, old.pk]
    assert shown(client, at__year=old.at.year) == [old.pk]
    assert shown(client, q="noon") == [fired.pk]
    assert shown(client, q="alice") == [scheduled.pk, old.pk]
    assert shown(client, q="second") == [fired.pk, scheduled.pk]
    # A run of the schedule: what acted, when no user did.
    html = client.get(reverse(EVENTS), {"source__exact": "schedule"}).content.decode()
    assert '<td class="field-who_display">the schedule</td>' in html


def test_nobody_adds_changes_or_deletes_an_event_superusers_included(client_as, task):
    event = audit.record(audit.STARTED, task(), "a script")
    client = client_as("superuser")
    assert client.get(reverse("admin:eztaskmanager_auditevent_add")).status_code == 403
    change = reverse("admin:eztaskmanager_auditevent_change", args=[event.pk])
    page = client.get(change)
    assert page.status_code == 200  # shown, read only
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change, {"detail": "forged"}).status_code == 403
    delete = reverse("admin:eztaskmanager_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    response = client.post(
        reverse(EVENTS), {"action": "delete_selected", "_selected_action": [event.pk]}
    )
    assert "delete_selected" not in response.content.decode()
    event.refresh_from_db()
    assert event.detail == ""


def test_the_trail_is_for_users_with_its_view_permission(task, report):
    target = task(name="guarded")
    _, plain = staff("plain", "view_task", "view_launchreport")
    auditor, auditing = staff("auditor", "view_task", "view_launchreport", "view_auditevent")
    other_run = report(task=target)
    own_run = report(task=target, started_by=auditor, origin=ADMIN)
    audit.record(audit.STARTED, target, Origin(ADMIN, auditor), own_run)
    audit.record(audit.STARTED, target, "code", other_run)

    assert plain.get(reverse(EVENTS)).status_code == 403
    page = plain.get(reverse("admin:eztaskmanager_task_change", args=[target.pk])).content
    assert b"audit trail" not in page.lower()

    html = auditing.get(reverse(EVENTS)).content.decode()
    # Without view_all_reports: a link to the auditor's own run's report, not to another's.
    own = reverse("admin:eztaskmanager_launchreport_change", args=[own_run.pk])
    other = reverse("admin:eztaskmanager_launchreport_change", args=[other_run.pk])
    assert f'<a href="{own}">#{own_run.pk}</a>' in html
    assert other not in html and f"#{other_run.pk}" in html


def test_the_task_page_shows_its_last_events_and_links_to_all_of_them(client_as, task):
    target, elsewhere = task(name="busy"), task(name="quiet")
    for number in range(25):
        audit.record(audit.CHANGED, target, "script", detail=f"edit {number}")
    audit.record(audit.CHANGED, elsewhere, "script", detail="not this task")
    client = client_as("superuser")
    response = client.get(reverse("admin:eztaskmanager_task_change", args=[target.pk]))
    html = response.content.decode()
    assert "edit 24" in html and "edit 5" in html
    assert "edit 4<" not in html and "not this task" not in html  # the last 20 only
    everything = f"{reverse(EVENTS)}?task__id__exact={target.pk}"
    assert f'href="{everything}"' in html
    assert len(shown(client, task__id__exact=target.pk)) == 25


def test_saving_a_task_does_not_need_the_trails_form_data(client_as, task):
    target = task(name="before")
    audit.record(audit.CHANGED, target, "script")
    client = client_as("superuser")
    response = client.post(
        reverse("admin:eztaskmanager_task_change", args=[target.pk]),
        {
            "name": "after",
            "command": target.command_id,
            "arguments": target.arguments,
            "launchreport_set-TOTAL_FORMS": "0",
            "launchreport_set-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=target.pk).name == "after"


@pytest.mark.parametrize("role", ["superuser", "auditor"])
def test_the_list_costs_the_same_queries_for_1_or_50_events(client_as, task, report, role):
    if role == "superuser":
        client = client_as("superuser")
    else:
        client = staff("auditor", "view_auditevent")[1]
    target = task(name="counted")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(EVENTS))
        assert response.status_code == 200
        return len(captured.captured_queries)

    audit.record(audit.STARTED, target, "code", report(task=target))
    one = queries()
    for number in range(49):
        gone = task(name=f"gone {number}")
        audit.record(audit.STARTED, gone, "code", report(task=gone), detail=f"run {number}")
        if number % 2:
            gone.delete()  # events of deleted tasks and reports too
    assert AuditEvent.objects.count() == 50
    assert queries() == one
