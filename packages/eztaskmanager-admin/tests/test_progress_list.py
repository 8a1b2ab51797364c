"""The task list shows how far a run going on is, by its command's first bar."""

from __future__ import annotations

from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task

LIVE = "test_livelogging_command"
BARS = {"bars": [{"group": ["Steps"], "current": 3, "total": 12, "status": ""}]}


def test_a_running_task_shows_its_percentage(client_as, task):
    running = task(LIVE, name="running")
    ended = task(LIVE, name="ended")
    LaunchReport.objects.create(task=running, state="running", progress=BARS)
    LaunchReport.objects.create(task=ended, state="finished", invocation_result="ok", progress=BARS)
    Task.objects.filter(pk=running.pk).update(status=Task.STATUS_STARTED)
    page = client_as("permitted").get(reverse("admin:eztaskmanager_task_changelist"))
    content = page.content.decode()
    assert content.count('<span class="eztm-percent">25%</span>') == 1
    row = content[content.index(">running<") :]
    assert '<span class="eztm-percent">25%</span>' in row[: row.index("</tr>")]


def test_bars_without_a_total_show_no_percentage(client_as, task):
    running = task(LIVE, name="running")
    bars = {"bars": [{"group": ["Rows"], "current": 40, "total": None}]}
    LaunchReport.objects.create(task=running, state="running", progress=bars)
    page = client_as("permitted").get(reverse("admin:eztaskmanager_task_changelist"))
    assert "eztm-percent" not in page.content.decode()
