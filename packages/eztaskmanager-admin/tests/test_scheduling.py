"""Start schedules a task with a future time; editing its schedule keeps one job only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from eztaskmanager.models import Task
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin.admin import TaskAdmin
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
    # The next run in the site's time zone (Europe/Rome here), as Django formats dates.
    when = date_format(timezone.localtime(later), "DATETIME_FORMAT")
    assert str(message) == f"{target} is scheduled; next run: {when}."
    assert "+00:00" not in str(message) and "UTC" not in str(message)

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


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_saving_the_form_leaves_the_status_and_schedule_to_the_core(client_as, task, monkeypatch):
    """The task is scheduled elsewhere (a worker, another user) while the admin saves its
    form: the save changes the fields the form shows, never the schedule nor the status."""
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    target = task(scheduling=later)
    save_form = TaskAdmin.save_form

    def save_form_while_scheduled_elsewhere(self, request, form, change):
        obj = save_form(self, request, form, change)
        get_task_service().add(Task.objects.get(pk=obj.pk))
        return obj

    monkeypatch.setattr(TaskAdmin, "save_form", save_form_while_scheduled_elsewhere)
    change = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    data = {**form_data(target, later), "note": "edited"}
    assert client_as("superuser").post(change, data).status_code == 302
    target.refresh_from_db()
    assert target.note == "edited"
    assert target.status == Task.STATUS_SCHEDULED
    assert list(SchedulingBackend.jobs) == [target.scheduled_job_id]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_saving_says_what_became_of_the_schedule(client_as, task):
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    target = task(scheduling=later)
    client = client_as("superuser")
    change = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    for when in (later + timedelta(hours=1), later + timedelta(hours=2)):
        # Booked by the save (a new first run), then booked again by the core (armed).
        response = client.post(change, form_data(target, when))
        words = date_format(timezone.localtime(when), "DATETIME_FORMAT")
        assert f"{target} is scheduled; next run: {words}." in messages_of(response)
        assert list(SchedulingBackend.jobs.values()) == [when]

    response = client.post(change, form_data(target, None))
    assert f"{target} is no longer scheduled." in messages_of(response)
    assert SchedulingBackend.jobs == {}


def test_an_engine_that_refuses_the_new_schedule_is_told(client_as, task, settings):
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    target = task(scheduling=later)
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.SchedulingBackend"}
    get_task_service().add(target)
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.UnreachableBackend"}
    change = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    response = client_as("superuser").post(change, form_data(target, later + timedelta(hours=1)))
    refused = f"The schedule of {target} could not be updated: Could not cancel the schedule"
    assert any(message.startswith(refused) for message in messages_of(response))
    target.refresh_from_db()
    assert target.scheduling == later + timedelta(hours=1)  # the fields are saved all the same
