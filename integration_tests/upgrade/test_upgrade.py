"""Upgrade from django-eztaskmanager 0.5.3: its database migrates, old links and code keep working.

The database was created and used by 0.5.3 itself (see ``conftest.py``); the project's
settings are 0.5.3's plus what ``docs/how-to/upgrading.md`` adds. The tests follow the
guide's steps, in order, on the one upgraded database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from eztaskmanager.checks import check_saved_arguments, check_settings
from eztaskmanager.models import LaunchReport, Task, TaskCategory
from eztaskmanager.registry import get_backend

pytestmark = pytest.mark.integration

MIGRATIONS = [
    "eztaskmanager.0004_from_0_5_new_fields",
    "eztaskmanager.0005_from_0_5_fill",
    "eztaskmanager.0006_from_0_5_constraints",
    "eztaskmanager.0007_run_lifecycle",
]


@pytest.fixture
def before(django_db_setup: dict[str, Any]) -> dict[str, Any]:
    """What 0.5.3 left in the database, in its own words."""
    return django_db_setup["before"]


@pytest.fixture
def admin_client() -> Client:
    """A browser logged in with the admin login created under 0.5.3, its password unchanged."""
    client = Client()
    assert client.login(username="admin", password="upgrade-pass")
    return client


def press(client: Client, button: str, task: Task):
    """Press a task's Start or Stop button in the admin."""
    return client.post(reverse(f"admin:eztaskmanager_task_{button}", args=[task.pk]))


def run_worker() -> str:
    """Run the project's RQ worker in burst mode (it ends when the queue is empty)."""
    result = subprocess.run(
        [sys.executable, "-m", "django", "rqworker", "default", "--burst"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "integration_tests.upgrade.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def test_migrate_applies_the_upgrade(django_db_setup, before):
    assert before["version"] == "0.5.3"
    migrated = django_db_setup["migrate"]
    for name in MIGRATIONS:
        assert f"Applying {name}... OK" in migrated, migrated
    assert "0001_initial" not in migrated  # 0.5.3's own migrations, already applied
    call_command("makemigrations", "eztaskmanager", "--check", "--dry-run", verbosity=0)


def test_old_tasks_are_listed_in_the_admin(admin_client, before):
    page = admin_client.get("/admin/eztaskmanager/task/")
    assert page.status_code == 200
    for name in before["tasks"]:
        assert name in page.content.decode()
    assert set(Task.objects.values_list("name", flat=True)) == set(before["tasks"])
    # 0.5 allowed two categories of one name; names are unique now.
    assert sorted(TaskCategory.objects.values_list("name", flat=True)) == [
        "Imports",
        "Imports (2)",
    ]
    assert admin_client.get("/admin/eztaskmanager/taskcategory/").status_code == 200
    nightly = Task.objects.get(name="Nightly import")
    assert nightly.status == "scheduled"
    assert nightly.scheduled_job_id == before["tasks"]["Nightly import"]["scheduled_job_id"]
    assert Task.objects.exclude(pk=nightly.pk).filter(status="idle").count() == 3


def test_old_logs_read_as_0_5_wrote_them(admin_client, before):
    for old in before["reports"]:
        report = LaunchReport.objects.get(pk=old["pk"])
        assert (report.state, report.invocation_result) == ("finished", old["result"])
        assert report.n_log_lines == len(old["lines"])
        errors = sum(level in ("ERROR", "CRITICAL") for level, _ in old["lines"])
        warnings = sum(level == "WARNING" for level, _ in old["lines"])
        assert (report.n_log_errors, report.n_log_warnings) == (errors, warnings)
        # 0.5's address of the JSON the viewer reads, and today's, give the same lines.
        for url in (
            f"/eztaskmanager/read_loglines/{report.pk}/?offset=0",
            reverse("eztaskmanager:ajax_read_log_lines", args=[report.pk]) + "?offset=0",
        ):
            body = admin_client.get(url).json()
            assert body["log_size"] == len(old["lines"])
            assert [[line["level"], line["message"]] for line in body["new_log_lines"]] == old[
                "lines"
            ]
    problems = next(r for r in before["reports"] if r["result"] == "errors")
    assert ["WARNING", "Row 2 has no price"] in problems["lines"]


@pytest.mark.parametrize(
    ("old", "new"), [("logviewer", "log_viewer"), ("livelogviewer", "live_log_viewer")]
)
def test_old_viewer_links_answer(admin_client, before, old, new):
    """The links of every notification 0.5 sent: redirected to the viewer, which shows the log."""
    pk = before["reports"][0]["pk"]
    response = admin_client.get(f"/eztaskmanager/{old}/{pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/eztaskmanager/{new}/{pk}/"
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "Import prices" in page.content.decode()
    # Without a login, the viewer asks for one (0.5 showed logs to anyone).
    anonymous = Client().get(response["Location"])
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_log_tail_reads_as_0_5_text(before):
    """A notifier written for 0.5 formats ``f"{report.log_tail(n)}"``: the text is 0.5's."""
    for old in before["reports"]:
        tail = LaunchReport.objects.get(pk=old["pk"]).log_tail(5)
        assert f"{tail}" == old["tail"]
        assert len(tail) == min(5, len(old["lines"]))


def test_the_backend_is_rq_as_in_0_5():
    """The project sets no EZTASKMANAGER_QUEUE_SERVICE_TYPE: 0.5's default, RQ, is used."""
    from eztaskmanager_rq import RQBackend

    assert isinstance(get_backend(), RQBackend)
    ids = [m.id for m in check_settings()]
    assert "eztaskmanager.W001" not in ids and "eztaskmanager.E001" not in ids


def test_the_check_lists_arguments_that_no_longer_parse(before):
    """``manage.py check --database default``: 0.5 kept "--title Spring sale" as one value."""
    messages = check_saved_arguments(databases=["default"])
    assert [m.id for m in messages] == ["eztaskmanager.W003"]
    (message,) = messages
    assert "Import the spring list" in message.msg
    assert "unrecognized arguments: sale" in message.msg
    task = Task.objects.get(name="Import the spring list")
    task.arguments = task.arguments.replace("--title Spring sale", '--title="Spring sale"')
    task.save(update_fields=["arguments"])
    assert check_saved_arguments(databases=["default"]) == []


def test_a_task_started_after_the_upgrade_runs(admin_client):
    task = Task.objects.get(name="Import prices")
    runs = task.launchreport_set.count()
    assert press(admin_client, "start", task).status_code == 302
    report = task.launchreport_set.order_by("-pk").first()
    assert report.state == LaunchReport.STATE_QUEUED and task.launchreport_set.count() == runs + 1
    output = run_worker()
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "ok"), output[-4000:]
    lines = admin_client.get(f"/eztaskmanager/read_loglines/{report.pk}/?offset=0").json()
    messages = [line["message"] for line in lines["new_log_lines"]]
    assert "Importing 3 rows of prices" in messages and "Row 3 imported" in messages
    assert list(report.logs.values_list("line", flat=True)) == list(range(report.n_log_lines))
    task.refresh_from_db()
    assert task.status == "idle" and task.cached_last_report_id == report.pk


def test_a_schedule_booked_by_0_5_runs_and_moves_to_the_new_scheduler(admin_client, before):
    """0.5's rq-scheduler job still runs the task; Stop then Start books today's schedule."""
    import django_rq
    from rq.job import Job

    task = Task.objects.get(name="Nightly import")
    old_job_id = before["tasks"]["Nightly import"]["scheduled_job_id"]
    scheduler = django_rq.get_scheduler("default")
    assert old_job_id in scheduler  # booked by 0.5.3, still in Redis
    # What rq-scheduler does when the job is due: it moves it to the queue (and books the
    # next occurrence, as 0.5 asked for a daily run).
    scheduler.enqueue_job(Job.fetch(old_job_id, connection=scheduler.connection))
    output = run_worker()
    report = task.launchreport_set.order_by("-pk").first()
    assert report is not None and report.invocation_result == "ok", output[-4000:]

    assert press(admin_client, "stop", task).status_code == 302
    task.refresh_from_db()
    assert (task.status, task.scheduled_job_id) == ("idle", "")
    assert old_job_id not in scheduler
    assert press(admin_client, "start", task).status_code == 302
    task.refresh_from_db()
    assert task.status == "scheduled" and task.scheduled_job_id not in ("", old_job_id)
    assert task.scheduled_job_id in scheduler and task.cached_next_ride is not None


def test_versions_sort_above_0_5_and_the_ranges_agree():
    """``pip install "django-eztaskmanager[rq,admin]"`` must pick this release, not 0.5.3."""
    import re
    from pathlib import Path

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    packages = Path(__file__).resolve().parents[2] / "packages"

    def version(folder: str) -> Version:
        (about,) = (packages / folder / "src").glob("*/__about__.py")
        return Version(re.search(r'__version__ = "(.+)"', about.read_text()).group(1))

    core = version("eztaskmanager")
    assert core > Version("0.5.3") and core.major >= 1
    extras = (packages / "eztaskmanager" / "pyproject.toml").read_text()
    for plugin in ("rq", "celery", "admin", "email", "slack"):
        folder = f"eztaskmanager-{plugin}"
        requires = (packages / folder / "pyproject.toml").read_text()
        (core_range,) = re.findall(r'"django-eztaskmanager(>=[^"]+)"', requires)
        assert core in SpecifierSet(core_range), (folder, core_range)
        for extra_range in re.findall(rf'"django-eztaskmanager-{plugin}(>=[^"]+)"', extras):
            assert version(folder) in SpecifierSet(extra_range), (folder, extra_range)
