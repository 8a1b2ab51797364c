"""How fast is the admin's task list on 10,000 tasks with 100,000 reports?

The task list (name, status, last run, Start/Stop buttons, filters, the scheduler
warning) beside its floor: the same tasks in a plain ``ModelAdmin`` with
``list_display = ("name",)`` on its own admin site, in the same run, through Django's
full request cycle with the test client, on PostgreSQL after ``ANALYZE`` (see
:func:`analyze`). The history sparklines come after the page, in one request
(``history.js``): that request is timed too, and the page with it, beside the same floor.
Also the SQL queries of each page, on the first page and on a later one (they must not
grow with the rows or the page).

Usage: ``python benchmarks/task_changelist.py --db sqlite|postgres [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.log_viewer import APPS, SETTINGS, paired
from benchmarks.results import Figure, add_options, report
from benchmarks.setup_django import django_project
from testsupport.bigdata import populate_tasks


def queries(client, url: str, **params: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def bars_request(client, page_html: str):
    """The request ``history.js`` makes for a page's history bars."""
    from django.urls import reverse

    ids = ",".join(re.findall(r'data-eztm-history="(\d+)"', page_html))
    assert ids, "the page has no history placeholders"
    url = reverse("admin:eztaskmanager_task_history")
    return lambda: client.get(url, {"ids": ids})


def analyze() -> None:
    """PostgreSQL's planner statistics, as autovacuum gathers them on a live database soon
    after a bulk load: without them the planner scans the fresh reports table whole."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(client, n_tasks: int, repeat: int) -> list[Figure]:
    from django.urls import reverse

    populate_tasks(n_tasks, 10)
    analyze()
    url = reverse("admin:eztaskmanager_task_changelist")
    plain_url = reverse("plain:eztaskmanager_task_changelist")

    def get(target: str, **params: str):
        return lambda: client.get(target, params)

    floor, value = paired(get(plain_url), get(url), repeat)
    later_floor, later = paired(get(plain_url, p="8"), get(url, p="8"), repeat)
    bars = bars_request(client, client.get(url).content.decode())
    assert bars().status_code == 200
    bars_floor, bars_time = paired(get(plain_url), bars, repeat)

    def page_and_bars():
        get(url)()
        bars()

    both_floor, both = paired(get(plain_url), page_and_bars, repeat)
    first_queries, later_queries = queries(client, url), queries(client, url, p="8")
    plain_queries = queries(client, plain_url)
    return [
        Figure(
            "task list, first page",
            value,
            "ms",
            floor,
            "plain changelist",
            "<= 1.3x plain changelist",
            value <= 1.3 * floor,
        ),
        Figure(
            "task list, page 8",
            later,
            "ms",
            later_floor,
            "plain changelist",
            "<= 1.3x plain changelist",
            later <= 1.3 * later_floor,
        ),
        Figure(
            "its history bars (one request after it)",
            bars_time,
            "ms",
            bars_floor,
            "plain changelist",
        ),
        Figure("first page and its bars, together", both, "ms", both_floor, "plain changelist"),
        Figure(
            "SQL queries, first page / page 8",
            first_queries,
            "",
            plain_queries,
            "plain changelist",
            "the same on every page",
            first_queries == later_queries,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    add_options(parser)
    args = parser.parse_args()
    n_tasks, repeat = (1_000, 5) if args.quick else (10_000, 9)
    settings = {**SETTINGS, "ROOT_URLCONF": "benchmarks.changelist_urls"}
    with django_project(args.db, APPS, **settings):
        from django.contrib.auth.models import User
        from django.test import Client

        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", "pw"))
        figures = measure(client, n_tasks, repeat)
    title = f"task changelist, {n_tasks:,} tasks / {n_tasks * 10:,} reports, {args.db}"
    report(title, figures, args.json)


if __name__ == "__main__":
    main()
