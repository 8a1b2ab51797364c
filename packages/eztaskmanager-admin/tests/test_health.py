"""Operators see health: the workers and schedulers page, and the task list's warning."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import ProcessHeartbeat, Task
from eztaskmanager_admin import health
from tests.conftest import ROLES

PROCESSES = "admin:eztaskmanager_processheartbeat_changelist"
TASKS = "admin:eztaskmanager_task_changelist"


def process(kind: str = "scheduler", seen: timedelta = timedelta(0), **fields) -> ProcessHeartbeat:
    now = timezone.now()
    defaults = {
        "backend": "rq",
        "name": f"{kind}-{ProcessHeartbeat.objects.count()}",
        "host": "box",
        "pid": 4242,
        "started_at": now - seen - timedelta(hours=1),
    }
    return ProcessHeartbeat.objects.create(kind=kind, seen_at=now - seen, **{**defaults, **fields})


@pytest.mark.parametrize(
    ("kind", "minutes", "alive"),
    [
        ("scheduler", 1.5, True),
        ("scheduler", 3, False),
        ("worker", 4.5, True),  # workers beat less regularly than schedulers
        ("worker", 6, False),
    ],
)
def test_a_process_is_alive_when_seen_within_the_bound_of_its_kind(db, kind, minutes, alive):
    assert health.is_alive(process(kind, timedelta(minutes=minutes))) is alive


@pytest.mark.parametrize("role", ROLES)
def test_the_workers_page_needs_the_view_permission(client_as, role):
    process("worker", name="rq:worker-1")
    response = client_as(role).get(reverse(PROCESSES))
    if role in ("anonymous", "nonstaff"):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    elif role == "staff":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert "rq:worker-1" in response.content.decode()


def test_the_workers_page_lists_every_process_with_an_alive_mark(client_as, db):
    process("scheduler", timedelta(seconds=5), name="scheduler-up")
    process("worker", timedelta(hours=2), name="worker-gone", backend="celery")
    response = client_as("superuser").get(reverse(PROCESSES))
    html = response.content.decode()
    rows = {p.name: p for p in response.context["cl"].result_list}
    assert set(rows) == {"scheduler-up", "worker-gone"}
    for header in ("Name", "Kind", "Last seen", "Alive"):
        assert header in html, header
    # Host and process id under the name, backend under the kind, start under last seen.
    assert "box, process 4242" in html
    assert ">celery</span>" in html and "started <time" in html
    assert "2\xa0hours ago" in html and re.search(r">\d+ s ago<", html)
    assert html.count('alt="True"') == 1 and html.count('alt="False"') == 1
    assert "in the last 2 minutes, a worker in the last 5 minutes" in html
    kinds = response.context["cl"].get_filters(response.wsgi_request)[0]
    assert [f.title for f in kinds] == ["backend", "kind"]


def test_the_workers_page_is_read_only_but_for_deleting_processes_gone(client_as, db):
    alive = process("worker", timedelta(minutes=1))
    gone = process("worker", timedelta(hours=3))
    client = client_as("superuser")
    assert client.get(reverse("admin:eztaskmanager_processheartbeat_add")).status_code == 403
    page = client.get(reverse("admin:eztaskmanager_processheartbeat_change", args=[alive.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    delete = "admin:eztaskmanager_processheartbeat_delete"
    assert client.get(reverse(delete, args=[alive.pk])).status_code == 403
    assert client.post(reverse(delete, args=[gone.pk]), {"post": "yes"}).status_code == 302
    assert list(ProcessHeartbeat.objects.all()) == [alive]


def test_the_delete_action_keeps_processes_alive(client_as, db):
    alive = process("scheduler", timedelta(seconds=10))
    gone = [process("scheduler", timedelta(minutes=30)), process("worker", timedelta(days=2))]
    client = client_as("superuser")
    actions = client.get(reverse(PROCESSES)).context["action_form"].fields["action"].choices
    assert [name for name, _label in actions if name] == ["delete_gone"]
    response = client.post(
        reverse(PROCESSES),
        {"action": "delete_gone", "_selected_action": [alive.pk, *(p.pk for p in gone)]},
        follow=True,
    )
    assert list(ProcessHeartbeat.objects.all()) == [alive]
    assert "2 deleted. 1 alive kept." in response.content.decode()


def test_without_the_delete_permission_nothing_is_deleted(client_as, db):
    gone = process("worker", timedelta(hours=3))
    client = client_as("permitted")  # may view processes, not delete them
    delete = reverse("admin:eztaskmanager_processheartbeat_delete", args=[gone.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse(PROCESSES)).context["action_form"] is None
    assert ProcessHeartbeat.objects.filter(pk=gone.pk).exists()


# The task list's warning ------------------------------------------------------------------
def scheduled_task(task, name: str = "Nightly") -> Task:
    target = task(name=name)
    target.arm_schedule(f"job-{name}", timezone.now() + timedelta(hours=1))
    return target


def warning_of(client: Client) -> str | None:
    response = client.get(reverse(TASKS))
    assert response.status_code == 200
    return response.context.get("eztm_scheduler_warning")


def test_the_warning_costs_one_query_while_a_scheduler_is_alive_and_two_else(
    db, task, django_assert_num_queries
):
    scheduled_task(task)
    with django_assert_num_queries(2):
        assert health.scheduler_warning() is not None
    process("scheduler")
    with django_assert_num_queries(1):
        assert health.scheduler_warning() is None


def test_no_warning_without_scheduled_tasks(client_as, task):
    task()
    assert warning_of(client_as("superuser")) is None


def test_no_warning_while_a_scheduler_is_alive(client_as, task):
    scheduled_task(task)
    process("scheduler", timedelta(seconds=30))
    process("scheduler", timedelta(days=1))
    assert warning_of(client_as("superuser")) is None


def test_scheduled_tasks_and_no_scheduler_ever_seen_warn_with_a_link(client_as, task):
    scheduled_task(task, "Nightly")
    scheduled_task(task, "Hourly")
    process("worker")  # workers do not start scheduled tasks
    response = client_as("superuser").get(reverse(TASKS))
    html = response.content.decode()
    assert response.context["eztm_scheduler_warning"] == (
        "No scheduler has been seen yet: 2 scheduled tasks will not start. "
        "Is the scheduler running (rqscheduler, celery beat)?"
    )
    link = reverse(PROCESSES) + "?kind__exact=scheduler"
    assert '<li class="warning">No scheduler has been seen yet' in html
    assert f'<a href="{link}">See the workers and schedulers</a>' in html


def test_a_scheduler_not_seen_for_a_while_warns_for_how_long(client_as, task):
    scheduled_task(task)
    process("scheduler", timedelta(minutes=10, seconds=5))
    warning = warning_of(client_as("superuser"))
    assert warning.startswith("No scheduler has been seen for 10\xa0minutes: 1 scheduled task ")


def test_the_warning_links_to_the_workers_only_for_who_may_see_them(client_as, task):
    scheduled_task(task)
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_task"))
    client = Client()
    client.force_login(user)
    response = client.get(reverse(TASKS))
    assert response.context["eztm_scheduler_warning"]
    assert "eztm_workers_url" not in response.context
    assert reverse(PROCESSES) not in response.content.decode()


@pytest.mark.parametrize(
    ("backend", "hint"),
    [("rq", "python manage.py rqscheduler"), ("celery", "celery -A <project> beat")],
)
def test_the_warning_names_the_scheduler_of_the_configured_backend(db, backend, hint):
    with override_settings(EZTASKMANAGER={"BACKEND": backend}):
        assert health.scheduler_hint() == hint
    text = health.SchedulerWarning(scheduled=1, last_seen=None).text
    assert text.endswith("(rqscheduler, celery beat)?")  # the test settings: immediate
