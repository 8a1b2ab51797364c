"""Cron on the task's form, and the next runs the form shows before it is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import Task
from tests import conftest
from tests.test_permissions import edit_form

LIVE = "test_livelogging_command"
URL = "admin:eztaskmanager_task_next_runs"
WEEKEND = ("Saturday", "Sunday")


def ask(client, **fields):
    response = client.get(reverse(URL), fields)
    assert response.status_code == 200
    return response.json()


def test_the_next_five_runs_of_a_cron_expression(client_as):
    answer = ask(client_as("permitted"), cron="0 9 * * 1-5")
    assert answer["error"] == "" and len(answer["runs"]) == 5
    assert all("9 a.m." in run and not run.startswith(WEEKEND) for run in answer["runs"])


def test_the_next_runs_of_a_repetition_and_of_a_one_off(client_as):
    client = client_as("permitted")
    start = timezone.localtime(timezone.now() + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    fields = {"scheduling_0": start.strftime("%Y-%m-%d"), "scheduling_1": "10:00:00"}
    answer = ask(client, repetition_rate="2", repetition_period="hour", **fields)
    assert [run.split(", ", 1)[1].rsplit(", ", 1)[1] for run in answer["runs"]] == [
        "10 a.m.",
        "noon",
        "2 p.m.",
        "4 p.m.",
        "6 p.m.",
    ]
    assert len(ask(client, **fields)["runs"]) == 1  # a one-off
    assert ask(client) == {"runs": [], "error": ""}  # nothing: Start runs it now


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "61 * * * *"}, "out of range"),
        ({"cron": "* * *"}, "Write five fields"),
        ({"cron": "0 9 * * *", "repetition_rate": "1", "repetition_period": "day"}, "not both"),
        ({"repetition_rate": "0", "repetition_period": "day"}, "greater than or equal to 1"),
        ({"scheduling_0": "not a date", "scheduling_1": "10:00"}, "Enter a valid date"),
    ],
)
def test_what_describes_no_schedule_is_said(client_as, fields, message):
    answer = ask(client_as("permitted"), **fields)
    assert answer["runs"] == [] and message in answer["error"]


@pytest.mark.parametrize("role", conftest.ROLES)
def test_only_who_may_add_or_change_tasks_asks(client_as, role):
    response = client_as(role).get(reverse(URL), {"cron": "* * * * *"})
    if role in ("permitted", "superuser"):
        assert response.status_code == 200
    else:
        assert response.status_code == (302 if role in ("anonymous", "nonstaff") else 403)


def test_a_cron_expression_is_saved_from_the_form_and_checked(client_as, task):
    target = task(LIVE, "--limit=1")
    client = client_as("permitted")
    page = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    content = client.get(page).content.decode()
    assert 'id="eztm-next-runs"' in content and reverse(URL) in content
    response = client.post(page, edit_form(target, cron="61 * * * *"))
    assert "out of range" in response.context["adminform"].form.errors["cron"][0]
    response = client.post(page, edit_form(target, cron="30 2 * * 1-5"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.cron, target.is_periodic) == ("30 2 * * 1-5", True)
    assert Task.objects.get(pk=target.pk).status in ("idle", "scheduled")
