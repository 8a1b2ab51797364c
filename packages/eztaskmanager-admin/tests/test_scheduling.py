"""Start schedules a task with a future time; editing its schedule keeps one job only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import Task
from tests.backends import SchedulingBackend

pytestmark = pytest.mark.usefixtures("clear_jobs")


@pytest.fixture
def clear_jobs():
    SchedulingBackend.jobs.clear()
    yield
    SchedulingBackend.jobs.clear()


def form_data(task: Task, when) -> dict[str, str]:
    local = timezone.localtime(when) if when else None
    return {
        "name": task.name,
        "command": str(task.command_id),
        "arguments": task.arguments,
        "scheduling_0": local.strftime("%Y-%m-%d") if local else "",
        "scheduling_1": local.strftime("%H:%M:%S") if local else "",
        "repetition_period": "",
        "repetition_rate": "",
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_editing_a_scheduled_task_reschedules_it_once(client_as, task):
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    target = task(scheduling=later)
    client = client_as("superuser")
    response = client.post(reverse("admin:eztaskmanager_task_start", args=[target.pk]))
    target.refresh_from_db()
    assert target.status == Task.STATUS_SCHEDULED
    assert list(SchedulingBackend.jobs.values()) == [later]
    [message] = get_messages(response.wsgi_request)
    assert "is scheduled" in str(message)

    change = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    even_later = later + timedelta(hours=2)
    assert client.post(change, form_data(target, even_later)).status_code == 302
    target.refresh_from_db()
    assert target.status == Task.STATUS_SCHEDULED
    assert list(SchedulingBackend.jobs.values()) == [even_later]
    assert target.scheduled_job_id in SchedulingBackend.jobs

    assert client.post(change, form_data(target, None)).status_code == 302
    target.refresh_from_db()
    assert target.status == Task.STATUS_IDLE
    assert SchedulingBackend.jobs == {}
