"""Run now with...: the page, its permission, its checks and the run it starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.models.tasks import ARGUMENTS_MAX_LENGTH
from tests import conftest

LIVE = "test_livelogging_command"
QUIET = "--limit=1,--sleep=0"
WARNING = "--limit=2,--sleep=0,--warning-prob=1"
ALLOWED = {"permitted", "superuser"}


def page(task: Task) -> str:
    return reverse("admin:eztaskmanager_task_run_with", args=[task.pk])


@pytest.mark.parametrize("role", conftest.ROLES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_who_may_start_tasks_opens_or_submits_the_page(client_as, task, role, method):
    target = task(LIVE, QUIET)
    response = getattr(client_as(role), method)(page(target), {"arguments": WARNING})
    runs = LaunchReport.objects.filter(task=target).count()
    if role in ALLOWED:
        assert response.status_code == (200 if method == "get" else 302)
        assert runs == (1 if method == "post" else 0)
    else:
        assert response.status_code == (302 if role in ("anonymous", "nonstaff") else 403)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("admin:login"))
        assert runs == 0


def test_the_page_shows_the_tasks_arguments_and_the_commands_help(client_as, task):
    target = task(LIVE, QUIET)
    content = client_as("permitted").get(page(target)).content.decode()
    assert f"{QUIET}</textarea>" in content
    assert "--warning-prob WARNING_PROB" in content  # the parser's usage
    assert 'name="csrfmiddlewaretoken"' in content


def test_a_run_with_other_arguments_lands_on_its_live_log_and_leaves_the_task(client_as, task):
    target = task(LIVE, QUIET)
    response = client_as("permitted").post(page(target), {"arguments": WARNING})
    run = LaunchReport.objects.get(task=target)
    assert response["Location"] == reverse(
        "admin:eztaskmanager_launchreport_live_log_viewer", args=[run.pk]
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"{target} was started."]
    assert (run.arguments, run.custom_arguments, run.invocation_result) == (
        WARNING,
        True,
        "warnings",
    )
    assert Task.objects.get(pk=target.pk).arguments == QUIET


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("--limit=many", "invalid int value"),
        ("--help", "would stop the command before it runs"),
        ("x" * (ARGUMENTS_MAX_LENGTH + 1), "at most"),
    ],
)
def test_arguments_the_command_refuses_are_a_form_error(client_as, task, arguments, message):
    target = task(LIVE, QUIET)
    response = client_as("permitted").post(page(target), {"arguments": arguments})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["arguments"])
    assert not LaunchReport.objects.filter(task=target).exists()


def test_a_task_already_running_is_said_on_the_page(client_as, task, report):
    target = task(LIVE, QUIET)
    report(task=target, finished=False)
    response = client_as("permitted").post(page(target), {"arguments": WARNING})
    assert response.status_code == 200
    assert "is already running" in response.content.decode()
    assert LaunchReport.objects.filter(task=target).count() == 1


def test_a_get_starts_nothing_and_a_post_needs_the_csrf_token(client_as, task):
    target = task(LIVE, QUIET)
    client = client_as("superuser", csrf=True)
    assert client.get(page(target)).status_code == 200
    assert client.post(page(target), {"arguments": WARNING}).status_code == 403
    assert not LaunchReport.objects.filter(task=target).exists()


def test_the_task_page_links_to_it_while_nothing_runs(client_as, task, report):
    target = task(LIVE, QUIET, scheduling=timezone.now() + timedelta(days=1))
    change = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    client = client_as("permitted")
    assert page(target) in client.get(change).content.decode()
    report(task=target, finished=False)
    Task.objects.filter(pk=target.pk).update(status=Task.STATUS_STARTED)
    assert page(target) not in client.get(change).content.decode()


def test_the_task_page_has_no_link_for_who_may_not_start_tasks(client_as, task):
    target = task(LIVE, QUIET)
    client = client_as("permitted")
    User.objects.get(username="permitted").user_permissions.remove(
        Permission.objects.get(codename="run_task")
    )
    change = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    response = client.get(change)
    assert response.status_code == 200
    assert page(target) not in response.content.decode()


def test_the_report_page_says_the_arguments_were_for_this_run_only(client_as, task):
    target = task(LIVE, QUIET)
    client = client_as("superuser")
    client.post(page(target), {"arguments": WARNING})
    run = LaunchReport.objects.get(task=target)
    content = client.get(
        reverse("admin:eztaskmanager_launchreport_change", args=[run.pk])
    ).content.decode()
    assert f"<code>{WARNING}</code> (for this run only)" in content
