"""The task's queue on its page: a select of the backend's queues, or a text input."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from eztaskmanager.backends.immediate import ImmediateBackend
from eztaskmanager.models import Task

CHANGE = "admin:eztaskmanager_task_change"
TWO_QUEUES = {"BACKEND": "tests.test_task_queue.TwoQueuesBackend"}


class TwoQueuesBackend(ImmediateBackend):
    def queue_names(self) -> list[str]:
        return ["default", "heavy"]


def form_data(task, queue: str) -> dict[str, str]:
    return {
        "name": task.name,
        "command": str(task.command_id),
        "arguments": task.arguments,
        "queue": queue,
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }


def test_without_a_list_the_queue_is_typed(client_as, task):
    t = task()
    client = client_as("superuser")
    html = client.get(reverse(CHANGE, args=[t.pk])).content.decode()
    assert '<input type="text" name="queue"' in html
    response = client.post(reverse(CHANGE, args=[t.pk]), form_data(t, "gpu"))
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.queue == "gpu"


@override_settings(EZTASKMANAGER=TWO_QUEUES)
def test_with_a_list_the_queue_is_chosen_from_it(client_as, task):
    t = task()
    client = client_as("superuser")
    html = client.get(reverse(CHANGE, args=[t.pk])).content.decode()
    assert '<select name="queue"' in html
    assert '<option value="" selected>default queue (default)</option>' in html
    assert '<option value="heavy">heavy</option>' in html
    response = client.post(reverse(CHANGE, args=[t.pk]), form_data(t, "heavy"))
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.queue == "heavy"


@override_settings(EZTASKMANAGER=TWO_QUEUES)
def test_a_queue_the_backend_lacks_is_shown_and_refused(client_as, task):
    t = task(queue="gpu")
    client = client_as("superuser")
    html = client.get(reverse(CHANGE, args=[t.pk])).content.decode()
    assert '<option value="gpu" selected>gpu (not configured)</option>' in html
    response = client.post(reverse(CHANGE, args=[t.pk]), form_data(t, "gpu"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["queue"] == [
        "The backend has no queue 'gpu'; choose one of its queues."
    ]
    t.refresh_from_db()
    assert t.queue == "gpu"


@pytest.mark.parametrize("backend", [TWO_QUEUES, {"BACKEND": "immediate"}])
def test_a_new_task_gets_the_default_queue_when_none_is_chosen(client_as, command, backend):
    with override_settings(EZTASKMANAGER=backend):
        response = client_as("superuser").post(
            reverse("admin:eztaskmanager_task_add"),
            {
                "name": "nightly",
                "command": str(command().pk),
                "arguments": "",
                "queue": "",
                "launchreport_set-TOTAL_FORMS": "0",
                "launchreport_set-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302
    assert Task.objects.get(name="nightly").queue == ""
