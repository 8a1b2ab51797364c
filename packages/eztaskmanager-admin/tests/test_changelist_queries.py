"""The task list reads cached figures off the task: a constant number of queries.

About 10 on a page of 100 out of 10,000 tasks: 7 for the list, 1 for the last runs of
the page's tasks (their history sparklines, one window-function query), and 1 or 2 for
the warning about scheduled tasks without a scheduler (``test_health.py`` counts those).
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task
from testsupport.bigdata import populate_tasks

N_TASKS = 10_000
REPORTS_PER_TASK = 10
MAX_QUERIES = 12


def changelist_queries(client, django_assert_max_num_queries, **params) -> int:
    with django_assert_max_num_queries(MAX_QUERIES) as captured:
        response = client.get(reverse("admin:eztaskmanager_task_changelist"), params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_task_list_of_10000_tasks_needs_no_per_row_query(
    client_as, django_assert_max_num_queries
):
    populate_tasks(N_TASKS, REPORTS_PER_TASK)
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
    # Every row's history: the last 10 of its 10 runs, each a bar linking to its log.
    assert html.count('<svg class="eztm-sparkline"') == 100
    assert html.count('<rect class="eztm-bar eztm-bar-') == 100 * 10
    # The same count as a list of a handful of tasks: nothing grows with the rows.
    Task.objects.filter(pk__gt=Task.objects.order_by("pk")[4].pk).delete()
    assert changelist_queries(client, django_assert_max_num_queries) == full
    assert filtered <= full + 1
    assert full >= 4, "the queries were not captured"


def test_every_page_of_the_task_list_costs_the_same_queries(client_as, django_assert_num_queries):
    """Pages of different rows (running, never run, no category, scheduled) read alike."""
    populate_tasks(350, 3)
    tasks = list(Task.objects.order_by("-pk").values_list("pk", flat=True))  # the list's order
    # Page 2: running tasks with an active run; page 3: never run, no category; page 4
    # (50 rows): scheduled tasks.
    running = tasks[100:200]
    Task.objects.filter(pk__in=running).update(status=Task.STATUS_STARTED)
    for pk in running[:20]:
        LaunchReport.objects.create(task_id=pk, state=LaunchReport.STATE_RUNNING)
    never = tasks[200:300]
    LaunchReport.objects.filter(task_id__in=never).delete()
    Task.objects.filter(pk__in=never).update(
        category=None,
        cached_last_report=None,
        cached_last_invocation_result="",
        cached_last_invocation_datetime=None,
    )
    Task.objects.filter(pk__in=tasks[300:]).update(status=Task.STATUS_SCHEDULED)
    client = client_as("superuser")
    url = reverse("admin:eztaskmanager_task_changelist")
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    expected = len(first.captured_queries)
    for page in ("1", "2", "3"):
        with django_assert_num_queries(expected):
            response = client.get(url, {"p": page})
        assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="eztm-sparkline"') == 50  # the last page's rows
