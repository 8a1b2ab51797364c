"""How fast does the log viewer's JSON endpoint answer on a million-line report?

``ajax_read_log_lines`` on a 1,000,000-line report (100,000 with ``--quick``), through
Django's full request cycle (middleware, session, permissions) with the test client:

- a page of 1,000 lines at offsets 0, half-way and 1,000 from the end, beside the floor:
  a raw keyset read of the same 1,000 rows (one SQL statement on the cursor, no ORM, no
  formatting), timed in the same run. Flat across offsets means keyset reads.
- the first request the viewer makes when it opens a report (its first screen), and a
  page of 10,000 lines (what it asks for while it fills the rest in the background);
- the first request of a viewer that follows a run that goes on: the last lines
  (``tail``), what its screen shows, beside the server time it would take to reach them
  page by page from the first line (the first page and the 10,000-line pages above).

Usage: ``python benchmarks/log_viewer.py --db sqlite|postgres [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.results import Figure, add_options, report
from benchmarks.setup_django import django_project
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
FIRST_PAINT_MS = 100.0


def paired(
    floor: Callable[[], object], call: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median times of ``floor()`` and ``call()`` in milliseconds, timed in turns.

    On a busy machine the load changes from one second to the next: timed one after the
    other, both see the same load, and their ratio holds.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(2):
        floor()
        call()
    for _ in range(repeat):
        for samples, function in zip(times, (floor, call), strict=True):
            start = time.perf_counter()
            function()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def make_report(n_lines: int) -> int:
    from eztaskmanager.models import AppCommand, LaunchReport, Task
    from integration_tests.browser.bigreport import fill_report

    command = AppCommand.objects.create(name="collectcommands", app_name="eztaskmanager")
    task = Task.objects.create(name="Huge export", command=command)
    launch = LaunchReport.objects.create(task=task)
    start = time.perf_counter()
    fill_report(launch, n_lines)
    launch.finish("errors")
    print(f"filled a report with {n_lines:,} lines in {time.perf_counter() - start:.1f} s")
    return launch.pk


def raw_keyset_read(report_id: int, start: int, end: int) -> Callable[[], list]:
    """The floor: the page's rows straight off the cursor, as the database driver gives them."""
    from django.db import connection

    from eztaskmanager.models import Log

    sql = (
        f"SELECT line, timestamp, level, message FROM {connection.ops.quote_name(Log._meta.db_table)} "
        "WHERE launch_report_id = %s AND line >= %s AND line < %s ORDER BY line"
    )

    def read() -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, [report_id, start, end])
            return cursor.fetchall()

    return read


def endpoint(client, url: str, **params: int) -> Callable[[], object]:
    def get() -> object:
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code
        return response

    return get


def measure(client, n_lines: int, repeat: int) -> list[Figure]:
    from django.urls import reverse

    from eztaskmanager_admin import logreader

    report_id = make_report(n_lines)
    url = reverse("eztaskmanager:ajax_read_log_lines", args=[report_id])
    figures = []
    for offset in (0, n_lines // 2, n_lines - 1000):
        floor, value = paired(
            raw_keyset_read(report_id, offset, offset + 1000),
            endpoint(client, url, offset=offset, limit=1000),
            repeat,
        )
        figures.append(
            Figure(
                f"JSON page of 1,000 lines at {offset:,}",
                value,
                "ms",
                floor,
                "raw keyset read",
                "<= 2x raw keyset read",
                value <= 2 * floor,
            )
        )
    first_floor, first = paired(
        raw_keyset_read(report_id, 0, logreader.FIRST_PAGE_SIZE),
        endpoint(client, url, offset=0, limit=logreader.FIRST_PAGE_SIZE, compact=1),
        repeat,
    )
    figures.append(
        Figure(
            f"first paint: page of {logreader.FIRST_PAGE_SIZE:,} lines",
            first,
            "ms",
            first_floor,
            "raw keyset read",
            f"< {FIRST_PAINT_MS:.0f} ms",
            first < FIRST_PAINT_MS,
        )
    )
    offset = n_lines // 2
    floor, big = paired(
        raw_keyset_read(report_id, offset, offset + logreader.MAX_PAGE_SIZE),
        endpoint(client, url, offset=offset, limit=logreader.MAX_PAGE_SIZE, compact=1),
        repeat,
    )
    figures.append(
        Figure(
            f"fill: page of {logreader.MAX_PAGE_SIZE:,} lines",
            big,
            "ms",
            floor,
            "raw keyset read",
        )
    )
    tail_floor, tail = paired(
        raw_keyset_read(report_id, n_lines - logreader.FIRST_PAGE_SIZE, n_lines),
        endpoint(client, url, tail=logreader.FIRST_PAGE_SIZE, compact=1),
        repeat,
    )
    figures.append(
        Figure(
            f"live first paint: the last {logreader.FIRST_PAGE_SIZE:,} lines",
            tail,
            "ms",
            tail_floor,
            "raw keyset read",
            f"< {FIRST_PAINT_MS:.0f} ms",
            tail < FIRST_PAINT_MS,
        )
    )
    pages = -(-(n_lines - logreader.FIRST_PAGE_SIZE) // logreader.MAX_PAGE_SIZE)
    figures.append(
        Figure(
            f"the same reached from the first line ({1 + pages} requests)",
            first + pages * big,
            "ms",
            tail,
            "live first paint",
        )
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    add_options(parser)
    args = parser.parse_args()
    n_lines, repeat = (100_000, 10) if args.quick else (1_000_000, 30)
    with django_project(args.db, APPS, **SETTINGS):
        from django.contrib.auth.models import User
        from django.test import Client

        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", "pw"))
        figures = measure(client, n_lines, repeat)
    report(f"log viewer JSON endpoint, {n_lines:,} lines, {args.db}", figures, args.json)


if __name__ == "__main__":
    main()
