"""0.5's bulk actions on the task list, and the category page's list of its tasks."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task, TaskCategory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:eztaskmanager_task_changelist"


def act(client, action, tasks):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [t.pk for t in tasks]},
        follow=True,
    )


def test_start_selected_starts_each_and_says_so(client_as, task):
    first, second = task(name="first"), task(name="second")
    response = act(client_as("superuser"), "start_selected", [first, second])
    assert response.status_code == 200
    for t in (first, second):
        (report,) = LaunchReport.objects.filter(task=t)
        assert report.invocation_result == "ok"  # the immediate backend ran it
    words = [str(m) for m in get_messages(response.wsgi_request)]
    assert words == ["first was started.", "second was started."]


def test_stop_selected_says_what_each_had(client_as, task):
    idle = task(name="idle one")
    response = act(client_as("superuser"), "stop_selected", [idle])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "idle one had nothing to stop."
    ]


@pytest.mark.parametrize("role", ["staff", "permitted"])
def test_the_actions_need_run_task(client_as, task, role):
    task(name="listed")  # the admin offers actions only on a list with rows
    client = client_as(role)
    page = client.get(reverse(CHANGELIST))
    if role == "staff":  # no view permission even: no list at all
        assert page.status_code == 403
        return
    assert b"start_selected" in page.content and b"stop_selected" in page.content


def test_without_run_task_the_actions_are_not_offered(client_as, task, django_user_model):
    user = django_user_model.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_task", "change_task"]))
    t = task(name="not for you")
    client = client_as("anonymous")
    client.force_login(user)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert b"start_selected" not in page.content
    act(client, "start_selected", [t])
    assert not LaunchReport.objects.filter(task=t).exists()


def test_a_category_page_lists_its_tasks(client_as, task):
    category = TaskCategory.objects.create(name="Imports")
    task(name="nightly import", category=category)
    task(name="elsewhere")
    page = client_as("superuser").get(
        reverse("admin:eztaskmanager_taskcategory_change", args=[category.pk])
    )
    assert page.status_code == 200
    assert b"nightly import" in page.content
    assert b"elsewhere" not in page.content
    assert Task.objects.count() == 2
