"""The task list reads cached figures off the task: a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import AppCommand, LaunchReport, Task, TaskCategory

N_TASKS = 10_000
REPORTS_PER_TASK = 10
MAX_QUERIES = 12


def populate(n_tasks: int) -> None:
    """``n_tasks`` tasks with ten reports each and their cached last-run figures."""
    commands = AppCommand.objects.bulk_create(
        AppCommand(name=f"command_{i}", app_name="app", active=True) for i in range(5)
    )
    categories = TaskCategory.objects.bulk_create(TaskCategory(name=f"cat {i}") for i in range(5))
    now = timezone.now()
    tasks = Task.objects.bulk_create(
        (
            Task(
                name=f"task {i}",
                command=commands[i % 5],
                category=categories[i % 5],
                note=f"note {i}",
                cached_last_invocation_datetime=now - timedelta(minutes=i),
                cached_last_invocation_result=("ok", "warnings", "errors", "failed")[i % 4],
                cached_last_invocation_n_errors=i % 3,
                cached_last_invocation_n_warnings=i % 7,
            )
            for i in range(n_tasks)
        ),
        batch_size=2000,
    )
    LaunchReport.objects.bulk_create(
        (
            LaunchReport(
                task=task,
                invocation_result="ok",
                invocation_datetime=now - timedelta(minutes=k),
                finished_at=now,
            )
            for task in tasks
            for k in range(REPORTS_PER_TASK)
        ),
        batch_size=5000,
    )
    latest = LaunchReport.objects.filter(task=OuterRef("pk")).order_by("-invocation_datetime")
    Task.objects.update(cached_last_report=Subquery(latest.values("pk")[:1]))


def changelist_queries(client, django_assert_max_num_queries, **params) -> int:
    with django_assert_max_num_queries(MAX_QUERIES) as captured:
        response = client.get(reverse("admin:eztaskmanager_task_changelist"), params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_task_list_of_10000_tasks_needs_no_per_row_query(
    client_as, django_assert_max_num_queries
):
    populate(N_TASKS)
    assert LaunchReport.objects.count() == N_TASKS * REPORTS_PER_TASK
    client = client_as("superuser")
    full = changelist_queries(client, django_assert_max_num_queries)
    filtered = changelist_queries(
        client, django_assert_max_num_queries, result="errors", q="task 1"
    )
    response = client.get(reverse("admin:eztaskmanager_task_changelist"))
    html = response.content.decode()
    assert html.count('class="eztm-result eztm-result-') == 100  # a page of 100 linked rows
    assert html.count(">Start</button>") == 100
    # The same count as a list of a handful of tasks: nothing grows with the rows.
    Task.objects.filter(pk__gt=Task.objects.order_by("pk")[4].pk).delete()
    assert changelist_queries(client, django_assert_max_num_queries) == full
    assert filtered <= full + 1
    assert full >= 4, "the queries were not captured"
