"""The task list's history bars come after the page (``list_history``, ``history.js``):
the page carries a placeholder per row, one request brings the bars of its rows, and a
refresh of the page draws them in place, the same markup."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager_admin.list_history import MAX_TASKS
from tests.history_bars import bars_of_page, placeholders

BARS_URL = "admin:eztaskmanager_task_history"


def list_page(client, **headers) -> str:
    response = client.get(reverse("admin:eztaskmanager_task_changelist"), **headers)
    assert response.status_code == 200
    return response.content.decode()


def refreshed_cell(html: str, task_id: int) -> str:
    """What a refresh of the page has in a row's history cell."""
    match = re.search(rf'data-eztm-refresh="history-{task_id}">(.*?)</span>', html, re.S)
    assert match, f"no history cell of task {task_id}"
    return match.group(1)


def test_the_page_leaves_the_bars_to_later_and_a_refresh_draws_them_alike(client_as, task, report):
    ran, never = task(name="ran"), task(name="never")
    for result in ("ok", "errors", "failed"):
        report(task=ran, invocation_result=result)
    client = client_as("permitted")
    html = list_page(client)
    assert sorted(placeholders(html)) == sorted([str(ran.pk), str(never.pk)])
    assert 'eztm-sparkline"' not in html and "eztm-bar" not in html
    bars = bars_of_page(client, html)
    assert bars[str(never.pk)] == ""
    assert bars[str(ran.pk)].count('<rect class="eztm-bar ') == 3
    # A refresh (refresh.js, while runs go on) has the bars in place: the same markup, so
    # that it replaces nothing history.js drew.
    refreshed = list_page(client, HTTP_X_EZTM_REFRESH="1")
    assert placeholders(refreshed) == [] and 'id="eztm-history"' not in refreshed
    assert refreshed_cell(refreshed, ran.pk) == bars[str(ran.pk)]
    assert refreshed_cell(refreshed, never.pk) == ""


def test_the_status_of_a_page_without_its_bars_still_links_the_run_going_on(client_as, task):
    running = task(name="running")
    LaunchReport.objects.create(task=running, state="finished", invocation_result="ok")
    going = LaunchReport.objects.create(task=running, state="running")
    Task.objects.filter(pk=running.pk).update(status=Task.STATUS_STARTED)
    html = list_page(client_as("permitted"))
    live = reverse("admin:eztaskmanager_launchreport_live_log_viewer", args=[going.pk])
    assert live in html


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("nonstaff", 302), ("staff", 403), ("permitted", 200), ("superuser", 200)],
)
def test_the_bars_answer_who_may_view_tasks(client_as, task, report, role, status):
    owner = task()
    report(task=owner)
    response = client_as(role).get(reverse(BARS_URL), {"ids": str(owner.pk)})
    assert response.status_code == status
    if status == 200:
        assert '<rect class="eztm-bar eztm-bar-ok"' in response.json()["bars"][str(owner.pk)]


@pytest.mark.parametrize(
    "ids",
    [
        "",
        "x",
        "1,two",
        "-1",
        "0",
        "1.5",
        str(2**63),
        "9" * 400,
        ",".join(["1"] * (MAX_TASKS + 1)),
    ],
)
def test_absurd_ids_are_a_clear_400(client_as, ids):
    response = client_as("superuser").get(reverse(BARS_URL), {"ids": ids})
    assert response.status_code == 400
    assert response.json()["error"]


def test_ids_of_no_task_are_left_out(client_as, task, report):
    owner = task()
    report(task=owner)
    response = client_as("superuser").get(reverse(BARS_URL), {"ids": f"{owner.pk},{2**63 - 1}"})
    assert response.status_code == 200
    assert list(response.json()["bars"]) == [str(owner.pk)]


def test_the_bars_are_read_only(client_as, task):
    owner = task()
    client = client_as("superuser", csrf=True)
    assert client.post(reverse(BARS_URL), {"ids": str(owner.pk)}).status_code in (403, 405)
