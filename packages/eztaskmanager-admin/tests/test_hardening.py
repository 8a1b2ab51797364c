"""Bad input gives a form error or works, never a 500 nor a stuck task; logs are never cached;
a report's page shows what its run ran with.

Each bad-input case posts the add form as a superuser, then presses Start on what was
saved, on an in-memory engine that runs or books it at once. The suite runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import MAX_TIMEOUT, LaunchReport, Task
from eztaskmanager.services.queues import get_task_service
from tests.backends import SchedulingBackend

pytestmark = pytest.mark.usefixtures("clear_jobs")

TOMORROW = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d")
YESTERDAY = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
PERIODIC = {"scheduling_0": TOMORROW, "scheduling_1": "10:00:00", "repetition_period": "minute"}

# (name of the case, fields posted, the field in error or None when it must work)
CASES = [
    ("rate 0", {**PERIODIC, "repetition_rate": "0"}, "repetition_rate"),
    ("rate 1", {**PERIODIC, "repetition_rate": "1"}, None),
    ("rate 32767", {**PERIODIC, "repetition_rate": "32767"}, None),
    ("rate 32768", {**PERIODIC, "repetition_rate": "32768"}, "repetition_rate"),
    ("rate 2**63-1", {**PERIODIC, "repetition_rate": str(2**63 - 1)}, "repetition_rate"),
    ("rate 10**30", {**PERIODIC, "repetition_rate": "1" + "0" * 30}, "repetition_rate"),
    ("rate -1", {**PERIODIC, "repetition_rate": "-1"}, "repetition_rate"),
    ("rate text", {**PERIODIC, "repetition_rate": "many"}, "repetition_rate"),
    ("rate alone", {"repetition_rate": "5"}, "repetition_rate"),
    (
        "32767 months",
        {**PERIODIC, "repetition_period": "month", "repetition_rate": "32767"},
        None,
    ),
    (
        "100000 months",
        {**PERIODIC, "repetition_period": "month", "repetition_rate": "100000"},
        "repetition_rate",
    ),
    (
        "32767 weeks",
        {**PERIODIC, "repetition_period": "week", "repetition_rate": "32767"},
        None,
    ),
    ("period unknown", {**PERIODIC, "repetition_period": "fortnight"}, "repetition_period"),
    ("one-off year 1", {"scheduling_0": "0001-01-01", "scheduling_1": "00:00:00"}, "scheduling"),
    (
        "periodic year 1",
        {**PERIODIC, "scheduling_0": "0001-01-01", "repetition_rate": "1"},
        "scheduling",
    ),
    ("one-off 1969", {"scheduling_0": "1969-12-31", "scheduling_1": "23:00:00"}, "scheduling"),
    ("one-off 9998", {"scheduling_0": "9998-12-31", "scheduling_1": "12:00:00"}, None),
    (
        "periodic 9998",
        {
            **PERIODIC,
            "scheduling_0": "9998-12-31",
            "repetition_period": "month",
            "repetition_rate": "1",
        },
        None,
    ),
    ("one-off 9999", {"scheduling_0": "9999-12-31", "scheduling_1": "23:59:59"}, "scheduling"),
    (
        "periodic 9999",
        {
            **PERIODIC,
            "scheduling_0": "9999-12-31",
            "scheduling_1": "23:59:59",
            "repetition_rate": "1",
        },
        "scheduling",
    ),
    ("one-off yesterday", {"scheduling_0": YESTERDAY, "scheduling_1": "10:00:00"}, "scheduling"),
    (
        "periodic since yesterday",
        {**PERIODIC, "scheduling_0": YESTERDAY, "repetition_period": "day", "repetition_rate": "1"},
        None,
    ),
    ("31 February", {"scheduling_0": "2030-02-31", "scheduling_1": "10:00:00"}, "scheduling"),
    ("hour 25", {"scheduling_0": TOMORROW, "scheduling_1": "25:00:00"}, "scheduling"),
    ("timeout 0", {"timeout": "0"}, "timeout"),
    ("timeout 1", {"timeout": "1"}, None),
    ("timeout max", {"timeout": str(MAX_TIMEOUT)}, None),
    ("timeout max+1", {"timeout": str(MAX_TIMEOUT + 1)}, "timeout"),
    ("timeout 10**20", {"timeout": "1" + "0" * 20}, "timeout"),
    ("quoted arguments", {"arguments": "--limit=\"2\", --sleep='0'"}, None),
    ("unbalanced quote", {"arguments": '--limit="2, --sleep=0'}, "arguments"),
    ("--help", {"arguments": "--help"}, "arguments"),
    ("--version", {"arguments": "--version"}, "arguments"),
    ("-h among others", {"arguments": "--limit=1, -h"}, "arguments"),
    ("10,000 characters", {"arguments": "--limit=1," + "--sleep=0," * 999}, None),
    ("10,001 characters", {"arguments": "--limit=1," + "--sleep=0," * 999 + "x"}, "arguments"),
    ("huge arguments", {"arguments": "--limit=1 " + "x" * 1_000_000}, "arguments"),
    ("NUL in arguments", {"arguments": "--limit=1\x00"}, "arguments"),
    ("name of 255", {"name": "n" * 255}, None),
    ("name of 256", {"name": "n" * 256}, "name"),
    ("NUL in name", {"name": "a\x00b"}, "name"),
    ("empty name", {"name": ""}, "name"),
]


@pytest.fixture
def clear_jobs():
    SchedulingBackend.jobs.clear()
    yield
    SchedulingBackend.jobs.clear()


def add_form(command_id: int, **fields: str) -> dict[str, str]:
    data = {
        "name": "bad input",
        "command": str(command_id),
        "arguments": "--limit=2,--sleep=0",
        "note": "",
        "scheduling_0": "",
        "scheduling_1": "",
        "repetition_period": "",
        "repetition_rate": "",
        "timeout": "",
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }
    return {**data, **fields}


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
@pytest.mark.parametrize(("case", "fields", "field_in_error"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_form_error_or_works(
    client_as, command, capfd, case, fields, field_in_error
):
    client = client_as("superuser")
    client.raise_request_exception = True  # a 500 fails the test with its traceback
    response = client.post(
        reverse("admin:eztaskmanager_task_add"), add_form(command().pk, **fields)
    )
    if field_in_error is not None:
        assert response.status_code == 200, case
        errors = response.context["adminform"].form.errors
        assert field_in_error in errors, (case, errors)
        assert not Task.objects.exists()
    else:
        assert response.status_code == 302, (
            case,
            response.context and response.context["adminform"].form.errors,
        )
        task = Task.objects.get()
        start = client.post(reverse("admin:eztaskmanager_task_start", args=[task.pk]))
        assert start.status_code == 302, case
        assert_not_stuck(task)
    out, err = capfd.readouterr()
    assert "usage:" not in out + err and "show this help message" not in out + err


def assert_not_stuck(task: Task) -> None:
    """Started: it ran to its end, or its schedule is booked with a next run; nothing hangs."""
    task.refresh_from_db()
    assert not LaunchReport.objects.filter(task=task).active().exists()
    if task.status == Task.STATUS_SCHEDULED:
        assert task.cached_next_ride is not None and task.cached_next_ride > timezone.now()
        assert list(SchedulingBackend.jobs) == [task.scheduled_job_id]
    else:
        assert task.status == Task.STATUS_IDLE
        report = LaunchReport.objects.get(task=task)
        assert report.invocation_result == LaunchReport.RESULT_OK


def test_a_periodic_task_started_in_the_past_moves_to_its_next_run(client_as, command):
    with override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"}):
        client = client_as("superuser")
        fields = {**PERIODIC, "scheduling_0": YESTERDAY, "repetition_period": "day"}
        client.post(
            reverse("admin:eztaskmanager_task_add"),
            add_form(command().pk, **fields, repetition_rate="1"),
        )
        task = Task.objects.get()
        client.post(reverse("admin:eztaskmanager_task_start", args=[task.pk]))
        task.refresh_from_db()
    assert task.status == Task.STATUS_SCHEDULED
    next_run = timezone.localtime(task.cached_next_ride)
    assert timezone.now() < next_run <= timezone.now() + timedelta(days=1)
    assert next_run.strftime("%H:%M:%S") == "10:00:00"
    assert not LaunchReport.objects.filter(task=task).exists()  # nothing ran at once


def test_every_log_view_is_never_cached(client_as, report):
    run = report([("INFO", "secret line")])
    client = client_as("superuser")
    for name in ("log_viewer", "live_log_viewer", "ajax_read_log_lines", "log_text"):
        for url in (
            reverse(f"eztaskmanager:{name}", args=[run.pk]),
            reverse(f"admin:eztaskmanager_launchreport_{name}", args=[run.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
            assert {"no-store", "no-cache", "private", "max-age=0"} <= cache_control, url
    # A refused request is not cached either (a proxy must not keep the login redirect).
    anonymous = client_as("anonymous").get(reverse("eztaskmanager:log_text", args=[run.pk]))
    assert "no-store" in anonymous["Cache-Control"]


def test_a_reports_pages_show_what_its_run_ran_with(client_as, task, command):
    owner = task(arguments="--limit=1,--sleep=0,--trace-steps=1")
    with override_settings(EZTASKMANAGER={"BACKEND": "immediate"}):
        get_task_service().add(owner)
    run = LaunchReport.objects.get(task=owner)
    # The task is edited afterwards: the old report still says what it ran.
    Task.objects.filter(pk=owner.pk).update(
        arguments="--limit=999", command=command("collectcommands")
    )
    client = client_as("superuser")
    page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
    html = page.content.decode()
    assert "eztaskmanager: test_livelogging_command" in html
    assert "<code>--limit=1,--sleep=0,--trace-steps=1</code>" in html
    assert "--limit=999" not in html and "collectcommands" not in html
    viewer = client.get(reverse("admin:eztaskmanager_launchreport_log_viewer", args=[run.pk]))
    assert viewer.context["arguments"] == ["--limit=1", "--sleep=0", "--trace-steps=1"]
    assert viewer.context["command"] == "eztaskmanager: test_livelogging_command"
    assert "--limit=999" not in viewer.content.decode()
