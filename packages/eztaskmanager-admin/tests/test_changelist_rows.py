"""The task list writes its rows itself, as Django would, and reads its runs' datetimes as
text: the same page, cheaper (see ``benchmarks/task_changelist.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager_admin import history
from testsupport.bigdata import populate_tasks


def changelist(client, **params):
    response = client.get(reverse("admin:eztaskmanager_task_changelist"), params)
    assert response.status_code == 200
    return response.context["cl"]


@pytest.mark.parametrize("role", ["superuser", "permitted", "viewer"])
@pytest.mark.parametrize(
    "params",
    [{}, {"o": "-3.1"}, {"q": "task 1", "status": "idle"}, {"result": "errors", "p": "1"}],
)
def test_the_list_writes_each_row_as_django_does(client_as, role, params):
    populate_tasks(30, 3)
    Task.objects.filter(pk__in=Task.objects.order_by("pk")[:5]).update(
        name="<b>bold</b> & co", note='"quoted"', status=Task.STATUS_STARTED
    )
    first = LaunchReport.objects.order_by("pk").first()
    LaunchReport.objects.filter(pk=first.pk).update(state=LaunchReport.STATE_RUNNING)
    cl = changelist(viewer(client_as) if role == "viewer" else client_as(role), **params)
    rows = cl.result_rows()
    assert rows is not None and len(rows) == len(cl.result_list) > 0
    for task, row in zip(cl.result_list, rows, strict=True):
        assert list(row) == list(items_for_result(cl, task, None))
        assert row.form is None


def viewer(client_as):
    """A user who sees tasks, and the reports of their own runs alone (one of them here)."""
    client = client_as("staff")
    user = User.objects.get(username="staff")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_task", "view_launchreport"])
    )
    LaunchReport.objects.filter(pk=LaunchReport.objects.order_by("pk")[1].pk).update(
        started_by=user
    )
    return client


def test_a_popup_gets_djangos_rows(client_as):
    populate_tasks(3, 1)
    cl = changelist(client_as("superuser"), _popup="1")
    assert cl.result_rows() is None  # the page is Django's own: with data-popup-opener


@pytest.mark.parametrize("as_text", [True, False], ids=["as-text", "as-django-reads-them"])
def test_runs_read_their_datetimes_as_the_models_do(task, monkeypatch, as_text):
    if not as_text:  # as on the databases that keep them otherwise (or without USE_TZ)
        monkeypatch.setattr(history, "_utc_text", lambda connection: None)
    owner = task(name="dated")
    now = timezone.now().replace(microsecond=123456)
    moments = [
        now,
        now.replace(microsecond=0),
        now.replace(microsecond=500000),
        now - timedelta(days=400),
    ]
    for moment in moments:
        LaunchReport.objects.create(
            task=owner,
            invocation_datetime=moment,
            queued_at=moment - timedelta(seconds=1),
            finished_at=moment + timedelta(microseconds=10),
            heartbeat_at=None,
        )
    runs = history.recent_runs([owner.pk])[owner.pk] + history.task_runs(owner.pk)
    reports = {r.pk: r for r in LaunchReport.objects.filter(task=owner)}
    assert len(runs) == 2 * len(moments)
    for run in runs:
        report = reports[run.pk]
        for name in history.DATES:
            assert getattr(run, name) == getattr(report, name), name
        assert run.invocation_datetime.utcoffset() == timedelta(0)
        assert run.duration == report.duration
