"""Per-command permissions: the matrix of roles, over every URL and bulk action that starts
or stops a task, for a command open to every runner and one restricted to a group.

- superuser: everything; a member of the command's group with ``run_task``: everything;
- a staff user with ``run_task`` outside the group: open commands only, the others are
  refused with a message (never a 500) and no button is offered;
- a staff user without ``run_task`` (even in the group): 403, no action offered;
- a user who is not staff: the login page.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse

from eztaskmanager.models import AuditEvent, LaunchReport, Task
from eztaskmanager.services.queues import get_task_service
from testsupport.tasks import make_command

pytestmark = pytest.mark.django_db

QUEUEING = {"BACKEND": "tests.backends.QueueingBackend"}
CHANGELIST = "admin:eztaskmanager_task_changelist"
ROLES = ["superuser", "member", "outsider", "norun", "nonstaff"]
BASE_PERMS = ["view_task", "change_task", "add_task", "view_launchreport"]
NOT_ALLOWED = "You may not start or stop {task}: its command {command} is for other groups."


def make_client(role: str, ops: Group) -> Client:
    if role == "superuser":
        user = User.objects.create_superuser("root", "root@example.com", "pw")
    else:
        user = User.objects.create_user(role, is_staff=role != "nonstaff")
        perms = BASE_PERMS + ([] if role == "norun" else ["run_task"])
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="eztaskmanager", codename__in=perms)
        )
        if role != "outsider":
            user.groups.add(ops)
        else:
            user.groups.add(Group.objects.create(name="others"))
    client = Client()
    client.force_login(user)
    return client


def expected(role: str, restricted: bool) -> str:
    """What the role gets: ``ok``, ``refused`` (a message), ``forbidden`` (403), ``login``."""
    if role in ("superuser", "member"):
        return "ok"
    if role == "outsider":
        return "refused" if restricted else "ok"
    return "forbidden" if role == "norun" else "login"


@pytest.fixture
def ops() -> Group:
    return Group.objects.create(name="ops")


@pytest.fixture
def target(ops, request) -> Callable[..., Task]:
    def make(restricted: bool, **fields) -> Task:
        # Two commands: one open to every runner, one for the group ops.
        if restricted:
            command = make_command("test_stdout_command")
            command.allowed_groups.add(ops)
            arguments = "--lines=1"
        else:
            command = make_command("test_livelogging_command")
            arguments = "--limit=1, --sleep=0"
        return Task.objects.create(
            name="Rotate the keys", command=command, arguments=arguments, **fields
        )

    return make


def url(name: str, task: Task) -> str:
    return reverse(f"admin:eztaskmanager_task_{name}", args=[task.pk])


def runs(task: Task) -> int:
    return LaunchReport.objects.filter(task=task).count()


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def check_refusal(outcome: str, response, task: Task) -> None:
    """The answer to a role that may not act, whatever the URL."""
    if outcome == "refused":
        assert response.status_code == 302
        assert NOT_ALLOWED.format(task=task, command=task.command) in said(response)
    elif outcome == "forbidden":
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


# Each start URL: (how to press it, whether it needs a protected task)
STARTS = {
    "start": (lambda client, task: client.post(url("start", task)), False),
    "confirm GET then POST": (
        lambda client, task: (
            client.get(url("confirm_start", task)),
            client.post(url("confirm_start", task), {"confirm": "Confirm"}),
        )[-1],
        True,
    ),
    "run with GET then POST": (
        lambda client, task: (
            client.get(url("run_with", task)),
            client.post(url("run_with", task), {"arguments": task.arguments}),
        )[-1],
        False,
    ),
    "bulk start": (
        lambda client, task: client.post(
            reverse(CHANGELIST), {"action": "start_selected", "_selected_action": [task.pk]}
        ),
        False,
    ),
}


@pytest.mark.parametrize("restricted", [False, True], ids=["open", "restricted"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("way", STARTS)
def test_who_may_start(ops, target, role, restricted, way):
    press, protected = STARTS[way]
    task = target(restricted, protected=protected)
    client = make_client(role, ops)
    response = press(client, task)
    outcome = expected(role, restricted)
    if outcome == "ok":
        assert runs(task) == 1, (response.status_code, said(response))
        report = LaunchReport.objects.get(task=task)
        assert report.origin == "admin"
        assert report.started_by.get_username() == ("root" if role == "superuser" else role)
        assert AuditEvent.objects.filter(task=task, action="started").count() == 1
        return
    assert runs(task) == 0
    if way == "bulk start" and outcome == "forbidden":
        # No run_task: the action is not offered, so Django says none was chosen.
        assert response.status_code in (200, 302)
        return
    check_refusal(outcome, response, task)


def test_the_confirmation_get_of_a_refused_user_goes_back_to_the_task(ops, target):
    task = target(True, protected=True)
    response = make_client("outsider", ops).get(url("confirm_start", task))
    assert response["Location"] == url("change", task)
    assert NOT_ALLOWED.format(task=task, command=task.command) in said(response)


STOPS = {
    "stop": lambda client, task: client.post(url("stop", task)),
    "bulk stop": lambda client, task: client.post(
        reverse(CHANGELIST), {"action": "stop_selected", "_selected_action": [task.pk]}
    ),
}


@override_settings(EZTASKMANAGER=QUEUEING)
@pytest.mark.parametrize("restricted", [False, True], ids=["open", "restricted"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("way", STOPS)
def test_who_may_stop(ops, target, role, restricted, way):
    task = target(restricted)
    queued = get_task_service().add(task)  # waits for a worker that never comes
    client = make_client(role, ops)
    response = STOPS[way](client, task)
    queued.refresh_from_db()
    outcome = expected(role, restricted)
    if outcome == "ok":
        assert queued.invocation_result == LaunchReport.RESULT_STOPPED
        assert AuditEvent.objects.filter(task=task, action="stopped").count() == 1
        return
    assert queued.state == LaunchReport.STATE_QUEUED
    if way == "bulk stop" and outcome == "forbidden":
        assert response.status_code in (200, 302)
        return
    check_refusal(outcome, response, task)


@pytest.mark.parametrize("restricted", [False, True], ids=["open", "restricted"])
@pytest.mark.parametrize("role", ["superuser", "member", "outsider", "norun"])
def test_the_buttons_are_offered_only_to_who_may_press_them(ops, target, role, restricted):
    task = target(restricted)
    client = make_client(role, ops)
    change = client.get(url("change", task)).content.decode()
    listing = client.get(reverse(CHANGELIST)).content.decode()
    offered = expected(role, restricted) == "ok"
    assert (f'action="{url("start", task)}"' in change) is offered
    assert (f'href="{url("run_with", task)}"' in change) is offered
    assert (f'formaction="{url("start", task)}"' in listing) is offered
    # The bulk actions: for who has run_task (each task is then checked on its own).
    assert ('value="start_selected"' in listing) is (role != "norun")


def test_a_user_may_not_give_a_task_a_command_of_other_groups(ops, target):
    open_task = target(False)
    restricted = target(True).command
    client = make_client("outsider", ops)
    change = url("change", open_task)
    page = client.get(change)
    data = {
        "name": open_task.name,
        "command": str(restricted.pk),
        "arguments": "",
        "retries": "0",
        "retry_delay": "60",
        "retry_backoff": "1",
        "follows_on": "ok",
    }
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(change, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["command"] == [
        "You may not choose eztaskmanager: test_stdout_command: only other groups may run it."
    ]
    open_task.refresh_from_db()
    assert open_task.command.name == "test_livelogging_command"


def test_the_command_page_edits_and_lists_its_groups(ops, client_as):
    command = make_command("test_stdout_command")
    client = client_as("superuser")
    change = reverse("admin:eztaskmanager_appcommand_change", args=[command.pk])
    page = client.get(change).content.decode()
    assert 'name="allowed_groups"' in page and "selectfilter" in page
    response = client.post(change, {"active": "on", "allowed_groups": [ops.pk]})
    assert response.status_code == 302
    assert list(command.allowed_groups.all()) == [ops]
    listing = client.get(reverse("admin:eztaskmanager_appcommand_changelist")).content.decode()
    assert '<td class="field-groups_display">ops</td>' in listing


def test_the_list_reads_the_commands_a_user_may_run_once_a_page(
    ops, target, django_assert_num_queries
):
    """The rows' buttons ask no query of their own, whatever the number of rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = make_client("outsider", ops)
    changelist = reverse(CHANGELIST)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(changelist).status_code == 200
        return len(captured.captured_queries)

    for restricted in (False, True):
        target(restricted)
    few = count()
    for i in range(20):
        target(i % 2 == 0)
    assert count() == few
    html = client.get(changelist).content.decode()
    assert html.count("eztm-start") == 11  # the open command's tasks only
