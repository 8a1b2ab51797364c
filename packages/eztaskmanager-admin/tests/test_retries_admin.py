"""Retries and time to live on the task's form; a retry's report names its attempt."""

from __future__ import annotations

from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task
from tests.test_permissions import edit_form

LIVE = "test_livelogging_command"


def change_page(task: Task) -> str:
    return reverse("admin:eztaskmanager_task_change", args=[task.pk])


def test_retries_and_time_to_live_are_set_on_the_form(client_as, task):
    target = task(LIVE, "--limit=1")
    client = client_as("permitted")
    data = edit_form(target, retries="2", retry_delay="30", retry_backoff="1", queued_ttl="600")
    assert client.post(change_page(target), data).status_code == 302
    target.refresh_from_db()
    assert (target.retries, target.retry_delay, target.retry_backoff, target.queued_ttl) == (
        2,
        30,
        1,
        600,
    )
    # Left empty, they take their defaults; out of range, they are form errors.
    data = edit_form(target, retries="", retry_delay="", retry_backoff="", queued_ttl="")
    assert client.post(change_page(target), data).status_code == 302
    target.refresh_from_db()
    assert (target.retries, target.retry_delay, target.retry_backoff, target.queued_ttl) == (
        0,
        60,
        2,
        None,
    )
    data = edit_form(target, retries="21", retry_delay="0", retry_backoff="11")
    response = client.post(change_page(target), data)
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"retries", "retry_delay", "retry_backoff"}


def test_a_retrys_report_names_its_attempt_and_links_the_first(client_as, task):
    target = task(LIVE, "--limit=1")
    first = LaunchReport.objects.create(task=target, state="finished", invocation_result="failed")
    retry = LaunchReport.objects.create(
        task=target, state="finished", attempt=2, first_attempt=first, invocation_result="ok"
    )
    page = reverse("admin:eztaskmanager_launchreport_change", args=[retry.pk])
    content = client_as("permitted").get(page).content.decode()
    first_url = reverse("admin:eztaskmanager_launchreport_change", args=[first.pk])
    assert f'2, a retry (<a href="{first_url}">the first attempt</a>)' in content
