"""Every field's extremes give a validation error or work; a report keeps what it ran with."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.utils import timezone

from eztaskmanager.exceptions import TaskNotRunnable
from eztaskmanager.models import MAX_TIMEOUT, LaunchReport, Task
from eztaskmanager.models.tasks import ARGUMENTS_MAX_LENGTH, MAX_REPETITION_RATE
from eztaskmanager.registry import get_backend
from eztaskmanager.scheduling import next_run_after
from eztaskmanager.services.notifications import Notification

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
UTC = dt_timezone.utc


def errors_of(task: Task) -> dict[str, list[str]]:
    try:
        task.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def future(**delta) -> datetime:
    return timezone.now() + timedelta(**delta)


# (fields, the field in error or None when valid)
EXTREMES = [
    ({"repetition_period": "minute", "repetition_rate": 0}, "repetition_rate"),
    ({"repetition_period": "minute", "repetition_rate": 1}, None),
    ({"repetition_period": "month", "repetition_rate": MAX_REPETITION_RATE}, None),
    ({"repetition_period": "week", "repetition_rate": MAX_REPETITION_RATE}, None),
    ({"repetition_period": "month", "repetition_rate": MAX_REPETITION_RATE + 1}, "repetition_rate"),
    ({"repetition_period": "month", "repetition_rate": 100000}, "repetition_rate"),
    ({"repetition_period": "minute", "repetition_rate": 2**63 - 1}, "repetition_rate"),
    ({"repetition_period": "minute", "repetition_rate": None}, "repetition_rate"),
    ({"repetition_period": "", "repetition_rate": 5}, "repetition_rate"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": 1}, None),
    ({"timeout": MAX_TIMEOUT}, None),
    ({"timeout": MAX_TIMEOUT + 1}, "timeout"),
    ({"name": "n" * 255}, None),
    ({"name": "n" * 256}, "name"),
    ({"arguments": "--limit=1,--sleep=0"}, None),
    ({"arguments": "--title='open"}, "arguments"),  # unbalanced quote
    ({"arguments": "--help"}, "arguments"),
    ({"arguments": "--version"}, "arguments"),
    ({"arguments": "--limit=1, --help"}, "arguments"),
    ({"arguments": "x" * (ARGUMENTS_MAX_LENGTH + 1)}, "arguments"),
    ({"arguments": "--limit=1 " + "x" * 1_000_000}, "arguments"),
]


@pytest.mark.parametrize(("fields", "field_in_error"), EXTREMES)
def test_each_fields_extremes(task, fields, field_in_error):
    t = task(LIVE)
    scheduled = {"scheduling": future(days=1)} if fields.get("repetition_period") else {}
    for name, value in {**scheduled, **fields}.items():
        setattr(t, name, value)
    errors = errors_of(t)
    if field_in_error is None:
        assert errors == {}
    else:
        assert field_in_error in errors, errors


@pytest.mark.parametrize(
    ("when", "periodic", "field_in_error"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), False, "scheduling"),
        (datetime(1, 1, 1, tzinfo=UTC), True, "scheduling"),
        (datetime(1969, 12, 31, tzinfo=UTC), True, "scheduling"),
        (datetime(1970, 1, 2, tzinfo=UTC), True, None),  # moves on to its next run
        (datetime(9998, 12, 31, 12, tzinfo=UTC), False, None),
        (datetime(9998, 12, 31, 12, tzinfo=UTC), True, None),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), False, "scheduling"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), True, "scheduling"),
    ],
)
def test_scheduling_extremes(task, when, periodic, field_in_error):
    t = task(LIVE, scheduling=None)
    t.scheduling = when
    if periodic:
        t.repetition_period, t.repetition_rate = "month", 1
    errors = errors_of(t)
    if field_in_error is None:
        assert errors == {}
        t.save()
        next_run = t.next_run_after()
        assert next_run is not None and next_run > timezone.now()
    else:
        assert list(errors) == [field_in_error]
        assert "between the years 1970 and 9998" in errors[field_in_error][0]


def test_a_one_off_typed_in_the_past_is_refused(task):
    t = task(LIVE)
    t.scheduling = timezone.now() - timedelta(days=1)
    errors = errors_of(t)
    assert list(errors) == ["scheduling"]
    assert "in the past" in errors["scheduling"][0]


def test_a_one_off_of_just_now_is_accepted(task):
    t = task(LIVE)
    t.scheduling = timezone.now() - timedelta(seconds=20)  # the admin's "Now" link, a slow form
    assert errors_of(t) == {}


def test_a_one_off_that_has_come_and_gone_stays_editable(task):
    t = task(LIVE, scheduling=timezone.now() - timedelta(days=3))  # saved when it was future
    t.note = "edited later"
    assert errors_of(t) == {}
    t.scheduling = t.scheduling - timedelta(hours=1)  # but a new date in the past is refused
    assert "in the past" in errors_of(t)["scheduling"][0]


def test_a_new_task_with_a_past_one_off_is_refused(command):
    t = Task(name="new", command=command(LIVE), scheduling=timezone.now() - timedelta(days=1))
    assert "in the past" in errors_of(t)["scheduling"][0]


def test_a_periodic_first_time_in_the_past_moves_to_its_next_run(task):
    start = (timezone.now() - timedelta(days=10)).replace(microsecond=0)
    t = task(LIVE)
    t.scheduling, t.repetition_period, t.repetition_rate = start, "day", 3
    assert errors_of(t) == {}
    t.save()
    next_run = t.next_run_after()
    assert timezone.now() < next_run <= timezone.now() + timedelta(days=3)
    assert timezone.localtime(next_run).time() == timezone.localtime(start).time()


@pytest.mark.parametrize(
    ("start", "period", "rate"),
    [
        (datetime(9999, 12, 1, tzinfo=UTC), "month", 1),
        (datetime(9998, 12, 1, tzinfo=UTC), "month", MAX_REPETITION_RATE),
        (datetime(9998, 12, 1, tzinfo=UTC), "week", MAX_REPETITION_RATE),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "minute", 1),
        (datetime(2026, 1, 1, tzinfo=UTC), "minute", 2**63 - 1),  # a row saved around the form
    ],
)
def test_a_next_run_beyond_the_calendar_is_none_not_an_overflow(start, period, rate):
    assert next_run_after(start, period, rate, start + timedelta(seconds=1)) is None


def test_a_rate_saved_around_the_form_gives_no_next_run_or_is_refused_by_the_column(task):
    """The issue's 100000 months: SQLite stores it (then there is no next run, not an
    overflow); PostgreSQL's small integer column refuses it."""
    t = task(LIVE, scheduling=datetime(2026, 1, 1, tzinfo=UTC), repetition_period="month")
    rows = Task.objects.filter(pk=t.pk)
    if connection.vendor != "sqlite":
        with pytest.raises(DataError), transaction.atomic():
            rows.update(repetition_rate=100000)
        return
    rows.update(repetition_rate=100000)
    t.refresh_from_db()
    assert t.next_run_after(datetime(2026, 1, 2, tzinfo=UTC)) is None


def test_help_and_version_print_nothing(task, capfd):
    for arguments in ("--help", "--version", "--limit=1,--help"):
        t = task(LIVE, arguments)
        assert "arguments" in errors_of(t)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# The report's own copy of what it ran ---------------------------------------------------------
def test_a_report_keeps_the_command_and_arguments_it_ran_with(task, command):
    t = task(LIVE, "--limit=1,--sleep=0")
    report = t.queue_run("job-1")
    assert (report.command_app_name, report.command_name, report.arguments) == (
        "eztaskmanager",
        LIVE,
        "--limit=1,--sleep=0",
    )
    # Edited while queued: the run runs (and says it ran) what the task says when it starts.
    Task.objects.filter(pk=t.pk).update(arguments="--limit=2,--sleep=0")
    started = LaunchReport.objects.start_run(t.pk, "job-1")
    started.finish(LaunchReport.RESULT_OK)
    # Edited after the run: the report still says what it ran.
    Task.objects.filter(pk=t.pk).update(
        arguments="--limit=9", command=command("test_stdout_command")
    )
    report = LaunchReport.objects.get(pk=report.pk)
    assert report.arguments == "--limit=2,--sleep=0"
    assert report.ran_command == f"eztaskmanager: {LIVE}"
    assert report.ran_arguments == "--limit=2,--sleep=0"
    notification = Notification.from_report(report)
    assert (notification.command, notification.arguments) == (
        f"eztaskmanager: {LIVE}",
        "--limit=2,--sleep=0",
    )
    assert f"Command: eztaskmanager: {LIVE}" in notification.text
    assert "Arguments: --limit=2,--sleep=0" in notification.text


def test_a_schedules_run_records_what_it_runs(task):
    t = task(LIVE, "--limit=1")
    report = LaunchReport.objects.start_run(t.pk, "sched-job")  # no queued report: a new one
    assert (report.command_name, report.arguments) == (LIVE, "--limit=1")
    assert LaunchReport.objects.get(pk=report.pk).arguments == "--limit=1"


def test_a_report_older_than_the_record_shows_the_tasks_values(task):
    t = task(LIVE, "--limit=3")
    old = LaunchReport.objects.create(task=t, state=LaunchReport.STATE_FINISHED)
    assert (old.ran_command, old.ran_arguments) == (f"eztaskmanager: {LIVE}", "--limit=3")


# Changes of users who may not start tasks ------------------------------------------------------
def test_run_fields_of_an_idle_task_may_change(task):
    t = task(LIVE)
    t.refuse_run_changes(["arguments", "scheduling", "note"])  # nothing raised


def test_run_fields_of_a_scheduled_task_may_not_change(task):
    t = task(LIVE, scheduling=future(days=1))
    t.arm_schedule("sched-1", t.scheduling)
    with pytest.raises(ValidationError) as excinfo:
        t.refuse_run_changes(["arguments", "repetition_rate", "note", "name"])
    assert sorted(excinfo.value.message_dict) == ["arguments", "repetition_rate"]
    assert "scheduled" in excinfo.value.message_dict["arguments"][0]
    t.refuse_run_changes(["note", "name", "category"])  # the rest may change


def test_run_fields_of_a_task_with_a_queued_run_may_not_change(task):
    t = task(LIVE)
    t.queue_run("job-1")
    with pytest.raises(ValidationError, match="queued"):
        t.refuse_run_changes(["command"])


def test_starting_a_schedule_without_a_next_run_is_refused_not_stuck(task, settings, monkeypatch):
    """A schedule whose next run is beyond the year 9999: Start says why, nothing hangs."""
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    t = task(LIVE, scheduling=timezone.now() - timedelta(days=1), repetition_period="month")
    Task.objects.filter(pk=t.pk).update(repetition_rate=1)
    t.refresh_from_db()
    monkeypatch.setattr(Task, "next_run_after", lambda self, after=None: None)
    with pytest.raises(TaskNotRunnable, match="no future run"):
        get_backend().add(t)
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == ("idle", "", None)
    assert not t.launchreport_set.exists()
