"""The task list reads cached figures off the task: a constant number of queries.

12 on a page of 100 out of 10,000 tasks: the session and the user (2); the list's counts,
rows, the rows' commands and categories, and its two filters' choices (7); the runs going
on of the page's tasks, for their status (1); and the warning about scheduled tasks
without a scheduler (1 or 2, ``test_health.py`` counts those). The page's history bars
come in one request after it (2 queries besides the session's: the tasks, and their last
runs in one window-function query).
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task
from tests.history_bars import bars_of_page, placeholders
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
    # Every row's history, asked for after the page: the last 10 of its 10 runs, each a
    # bar linking to its log, read in the same queries for 100 tasks as for 5.
    assert len(placeholders(html)) == 100 and '<svg class="eztm-sparkline"' not in html
    with django_assert_max_num_queries(MAX_QUERIES) as bars_read:
        bars = "".join(bars_of_page(client, html).values())
    assert bars.count('<svg class="eztm-sparkline"') == 100
    assert bars.count('<rect class="eztm-bar eztm-bar-') == 100 * 10
    assert bars.count('<a href="') == 100 * 10
    # The same count as a list of a handful of tasks: nothing grows with the rows.
    Task.objects.filter(pk__gt=Task.objects.order_by("pk")[4].pk).delete()
    assert changelist_queries(client, django_assert_max_num_queries) == full
    html = client.get(reverse("admin:eztaskmanager_task_changelist")).content.decode()
    assert len(placeholders(html)) == 5
    with django_assert_max_num_queries(MAX_QUERIES) as few_read:
        assert len(bars_of_page(client, html)) == 5
    assert len(few_read.captured_queries) == len(bars_read.captured_queries)
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
    assert len(placeholders(html)) == 100
    bars = bars_of_page(client, html)
    assert "".join(bars.values()).count('<svg class="eztm-sparkline"') == 50  # runs of 50 rows
    assert sum(not markup for markup in bars.values()) == 50  # and 50 never run


def plan_of(sql: str) -> str:
    """How the database would read ``sql``; on PostgreSQL with sorting made the last
    resort, so that an order no index gives shows as a sort however small the table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_sort = off")  # until the test's rollback
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_a_page_of_the_task_list_is_read_in_its_order_from_an_index(client_as):
    """The default order (last run first, never-run tasks last, then name and id) comes
    from ``eztm_task_list_order_idx``: no page sorts every task (4 ms at 10,000 tasks on
    PostgreSQL, benchmarks/task_changelist.py)."""
    populate_tasks(150, 1)
    client = client_as("superuser")
    url = reverse("admin:eztaskmanager_task_changelist")
    for page in ("1", "2"):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"p": page}).status_code == 200
        (rows,) = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith('SELECT "eztaskmanager_task"."id"') and " LIMIT " in q["sql"]
        ]
        assert 'DESC NULLS LAST, "eztaskmanager_task"."name" ASC' in rows
        plan = plan_of(rows)
        tasks_read = plan.split("SubPlan")[0]  # the last run's reason, a row each, after
        assert "eztm_task_list_order_idx" in tasks_read, plan
        assert "Sort" not in tasks_read and "TEMP B-TREE" not in tasks_read, plan
