"""How fast are the log viewer's JSON endpoint and the admin's task list on big data?

- JSON endpoint (``ajax_read_log_lines``) on a 1,000,000-line report, at offsets 0,
  500,000 and 999,000, for a page of 1,000 lines (the default) and of 10,000 (what the
  viewer asks for): server time through Django's full request cycle (middleware, session,
  permissions), in this process, with Django's test client. Flat means keyset reads.
- The task changelist with 10,000 tasks and 100,000 reports: time and SQL queries.

Usage: ``python benchmarks/log_viewer.py --db sqlite|postgres [--lines N] [--repeat N]``.
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.setup_django import django_project
from testsupport.bigdata import populate_tasks
from testsupport.settings import ADMIN_APPS, ADMIN_SITE

APPS = [
    app for app in ADMIN_APPS if app not in ("django.contrib.auth", "django.contrib.contenttypes")
]
SETTINGS = {
    **{key: value for key, value in ADMIN_SITE.items() if key != "INSTALLED_APPS"},
    "ROOT_URLCONF": "integration_tests.browser.urls",
    "ALLOWED_HOSTS": ["testserver"],
    "EZTASKMANAGER": {"BACKEND": "immediate"},
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}


def timed(call, repeat: int) -> tuple[float, float]:
    """Median and worst time of ``call()`` in milliseconds, after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def bench_json(client, lines: int, repeat: int) -> None:
    from django.urls import reverse

    from eztaskmanager.models import AppCommand, LaunchReport, Task
    from integration_tests.browser.bigreport import fill_report

    command = AppCommand.objects.create(name="collectcommands", app_name="eztaskmanager")
    task = Task.objects.create(name="Huge export", command=command)
    report = LaunchReport.objects.create(task=task)
    start = time.perf_counter()
    fill_report(report, lines)
    report.finish("errors")
    print(f"filled a report with {lines:,} lines in {time.perf_counter() - start:.1f} s")
    url = reverse("eztaskmanager:ajax_read_log_lines", args=[report.pk])
    for limit in (1000, 10000):
        for offset in (0, lines // 2, lines - 1000):

            def get(offset=offset, limit=limit):
                response = client.get(url, {"offset": offset, "limit": limit})
                assert response.status_code == 200
                return response

            n_lines = len(get().json()["new_log_lines"])
            median, worst = timed(get, repeat)
            print(
                f"  JSON offset {offset:>9,} page {limit:>6,} ({n_lines:,} lines): "
                f"median {median:6.1f} ms, worst {worst:6.1f} ms"
            )


def bench_changelist(client, n_tasks: int, repeat: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    populate_tasks(n_tasks, 10)
    url = reverse("admin:eztaskmanager_task_changelist")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    n_queries = len(queries)  # now: the next requests reset the connection's query log
    median, worst = timed(lambda: client.get(url), repeat)
    print(
        f"  task changelist, {n_tasks:,} tasks / {n_tasks * 10:,} reports: "
        f"median {median:.1f} ms, worst {worst:.1f} ms, {n_queries} SQL queries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with django_project(args.db, APPS, **SETTINGS):
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client

        print(f"database: {args.db} ({connection.vendor})")
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", "pw"))
        bench_json(client, args.lines, args.repeat)
        bench_changelist(client, args.tasks, max(args.repeat // 2, 5))


if __name__ == "__main__":
    main()
