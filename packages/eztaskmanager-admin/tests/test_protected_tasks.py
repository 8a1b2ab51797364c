"""Protected tasks: Start (the task page's button, the list's, the bulk action) asks for a
confirmation that names the command and its arguments; only Confirm starts the run.
Superusers confirm too; Run now with... is itself the confirming step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from tests.backends import SchedulingBackend

pytestmark = pytest.mark.django_db


def urls(task: Task) -> dict[str, str]:
    return {
        name: reverse(f"admin:eztaskmanager_task_{name}", args=[task.pk])
        for name in ("start", "confirm_start", "change", "run_with")
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def protected(task):
    return task(
        name="Purge the archive",
        arguments="--limit=3, --sleep=0",
        protected=True,
        secret_arguments="--trace-steps=7",
    )


def test_start_leads_to_a_confirmation_that_names_what_runs(client_as, protected):
    client = client_as("superuser")
    url = urls(protected)
    back = reverse("admin:eztaskmanager_task_changelist")
    response = client.post(url["start"], {"next": back})
    assert response.status_code == 302
    assert response["Location"] == f"{url['confirm_start']}?next={back.replace('/', '%2F')}"
    assert not LaunchReport.objects.filter(task=protected).exists()

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert '<div class="readonly eztm-confirm-task">Purge the archive</div>' in html
    assert "<code>eztaskmanager: test_livelogging_command</code>" in html
    assert "<code>--limit=3, --sleep=0</code>" in html
    assert '<div class="readonly eztm-confirm-secret"><code>***</code></div>' in html
    assert "--trace-steps=7" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="confirm" value="Confirm"' in html
    assert f'name="next" value="{back}"' in html

    # A POST without the confirm button starts nothing.
    assert client.post(url["confirm_start"], {"next": back}).status_code == 200
    assert not LaunchReport.objects.filter(task=protected).exists()

    response = client.post(url["confirm_start"], {"next": back, "confirm": "Confirm"})
    run = LaunchReport.objects.get(task=protected)
    assert response["Location"] == reverse(
        "admin:eztaskmanager_launchreport_live_log_viewer", args=[run.pk]
    )
    assert run.invocation_result == "ok"  # the immediate backend ran it
    assert messages_of(response) == ["Purge the archive was started."]


def test_the_confirmation_needs_a_csrf_token(client_as, protected):
    client = client_as("superuser", csrf=True)
    response = client.post(urls(protected)["confirm_start"], {"confirm": "Confirm"})
    assert response.status_code == 403
    assert not LaunchReport.objects.filter(task=protected).exists()


def test_a_task_that_is_not_protected_starts_at_once(client_as, task):
    plain = task(name="plain")
    client_as("superuser").post(urls(plain)["start"])
    assert LaunchReport.objects.filter(task=plain).count() == 1


def test_the_lists_start_button_leads_to_the_confirmation(client_as, protected, task):
    task(name="plain")
    client = client_as("superuser")
    changelist = reverse("admin:eztaskmanager_task_changelist")
    html = client.get(changelist).content.decode()
    assert html.count('class="button eztm-start eztm-protected"') == 1
    assert html.count('class="button eztm-start"') == 1
    # The button posts the list's form to the start URL; the referer is the list.
    response = client.post(urls(protected)["start"], HTTP_REFERER=f"http://testserver{changelist}")
    assert response["Location"].startswith(urls(protected)["confirm_start"])
    assert not LaunchReport.objects.filter(task=protected).exists()


def test_the_bulk_action_starts_the_others_and_links_to_the_confirmation(
    client_as, protected, task
):
    plain = task(name="plain")
    response = client_as("superuser").post(
        reverse("admin:eztaskmanager_task_changelist"),
        {"action": "start_selected", "_selected_action": [protected.pk, plain.pk]},
        follow=True,
    )
    assert not LaunchReport.objects.filter(task=protected).exists()
    assert LaunchReport.objects.filter(task=plain).count() == 1
    words = messages_of(response)
    confirm = urls(protected)["confirm_start"]
    assert (
        f'Purge the archive is protected: it was not started. <a href="{confirm}">Confirm it</a>.'
        in words
    )
    assert "plain was started." in words
    # The link is markup (safe), the task's name escaped in it.
    assert f'<a href="{confirm}">Confirm it</a>' in response.content.decode()


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_confirming_a_scheduled_task_books_its_schedule(client_as, task):
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    scheduled = task(name="Nightly purge", protected=True, scheduling=later)
    client = client_as("superuser")
    url = urls(scheduled)
    page = client.get(url["confirm_start"]).content.decode()
    assert "Start books its schedule; its runs then start without asking again." in page
    response = client.post(url["confirm_start"], {"confirm": "Confirm"})
    assert response.status_code == 302
    assert response["Location"] == url["change"]
    scheduled.refresh_from_db()
    assert scheduled.status == Task.STATUS_SCHEDULED
    assert SchedulingBackend.jobs[scheduled.scheduled_job_id] == later
    SchedulingBackend.jobs.clear()


def test_run_now_with_names_the_command_of_a_protected_task(client_as, protected):
    client = client_as("superuser")
    html = client.get(urls(protected)["run_with"]).content.decode()
    assert (
        "This task is protected: check that <strong>eztaskmanager: test_livelogging_command" in html
    )
    assert "--trace-steps=7" not in html
    response = client.post(urls(protected)["run_with"], {"arguments": "--limit=1, --sleep=0"})
    assert response.status_code == 302
    assert LaunchReport.objects.get(task=protected).arguments == "--limit=1, --sleep=0"


def test_the_task_page_marks_protected_and_keeps_its_start_button(client_as, protected):
    response = client_as("superuser").get(urls(protected)["change"])
    assert response.context["adminform"].form["protected"].value() is True
    html = response.content.decode()
    assert 'name="protected"' in html
    assert f'action="{urls(protected)["start"]}"' in html


def test_a_user_who_may_not_run_the_task_gets_no_confirmation_page(client_as, protected):
    assert client_as("staff").get(urls(protected)["confirm_start"]).status_code == 403
    response = Client().get(urls(protected)["confirm_start"])
    assert response.status_code == 302 and "/login/" in response["Location"]
