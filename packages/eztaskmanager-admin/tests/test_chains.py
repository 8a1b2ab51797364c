"""Chains on the task's page: set, refused when they loop, shown on both tasks, outdated."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from tests.test_permissions import edit_form

LIVE = "test_livelogging_command"
QUICK = "--limit=1,--sleep=0"


def change_page(task: Task) -> str:
    return reverse("admin:eztaskmanager_task_change", args=[task.pk])


def ok_run(task: Task, hours_ago: float) -> LaunchReport:
    when = timezone.now() - timedelta(hours=hours_ago)
    return LaunchReport.objects.create(
        task=task,
        state="finished",
        invocation_result="ok",
        invocation_datetime=when,
        finished_at=when,
    )


def test_a_chain_is_set_on_the_form_and_shown_on_both_pages(client_as, task):
    first = task(LIVE, QUICK, name="Fetch the feeds")
    follower = task(LIVE, QUICK, name="Build the index")
    client = client_as("permitted")
    response = client.post(
        change_page(follower), edit_form(follower, follows=str(first.pk), follows_on="any")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    follower.refresh_from_db()
    assert (follower.follows_id, follower.follows_on) == (first.pk, "any")
    mine = client.get(change_page(follower)).content.decode()
    assert (
        f'Starts after <a href="{change_page(first)}">Fetch the feeds</a> (whatever its result).'
        in mine
    )
    theirs = client.get(change_page(first)).content.decode()
    assert (
        f'Started after it: <a href="{change_page(follower)}">Build the index</a> '
        "(whatever its result)." in theirs
    )


def test_a_chain_that_loops_is_a_form_error(client_as, task):
    a = task(LIVE, QUICK, name="a")
    b = task(LIVE, QUICK, name="b", follows=a)
    response = client_as("permitted").post(change_page(a), edit_form(a, follows=str(b.pk)))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "a chain may not loop" in errors["follows"][0]
    assert Task.objects.get(pk=a.pk).follows_id is None


def test_outdated_when_the_task_followed_has_a_newer_ok_run(client_as, task):
    first = task(LIVE, QUICK, name="first")
    follower = task(LIVE, QUICK, name="follower", follows=first)
    client = client_as("permitted")
    ok_run(first, hours_ago=1)
    assert "Outdated:" in client.get(change_page(follower)).content.decode()  # never ran OK
    ok_run(follower, hours_ago=2)
    assert "Outdated:" in client.get(change_page(follower)).content.decode()
    ok_run(follower, hours_ago=0.5)
    assert "Outdated:" not in client.get(change_page(follower)).content.decode()


def test_only_who_may_start_tasks_sets_a_chain(client_as, task):
    first = task(LIVE, QUICK, name="first")
    follower = task(LIVE, QUICK, name="follower")
    client = client_as("permitted")
    User.objects.get(username="permitted").user_permissions.remove(
        Permission.objects.get(codename="run_task")
    )
    page = client.get(change_page(follower)).content.decode()
    assert 'name="follows"' not in page
    client.post(change_page(follower), edit_form(follower, follows=str(first.pk), note="x"))
    follower.refresh_from_db()
    assert (follower.note, follower.follows_id) == ("x", None)
