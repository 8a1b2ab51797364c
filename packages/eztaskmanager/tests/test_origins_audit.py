"""Who or what started each run (``LaunchReport.origin`` and ``started_by``), and the audit
trail the services write (:mod:`eztaskmanager.audit`) - which never stops what it records."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import DatabaseError, connection
from django.utils import timezone

from eztaskmanager import audit
from eztaskmanager.models import AuditEvent, LaunchReport, Task
from eztaskmanager.origins import ADMIN, API, CHAIN, CODE, RETRY, SCHEDULE, Origin
from eztaskmanager.registry import get_backend
from eztaskmanager.services.runner import run_management_command

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
QUICK = "--limit=1,--sleep=0"


def runner(name: str) -> User:
    made = User.objects.create_user(name)
    made.user_permissions.add(Permission.objects.get(codename="run_task"))
    return User.objects.get(pk=made.pk)


@pytest.fixture
def recording(settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    return get_backend()


def events(task: Task) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(task=task)
        .order_by("pk")
        .values_list("action", "source", "user_id", "username", "report_id")
    )


@pytest.mark.parametrize("source", [ADMIN, API])
def test_a_run_a_user_starts_is_theirs_and_so_recorded(task, source):
    alice = runner("alice")
    t = task(LIVE, QUICK)
    report = get_backend().add(t, by=Origin(source, alice))
    report.refresh_from_db()
    assert (report.invocation_result, report.origin, report.started_by_id) == (
        "ok",
        source,
        alice.pk,
    )
    assert events(t) == [("started", source, alice.pk, "alice", report.pk)]


def test_a_run_from_code_has_no_user(task):
    t = task(LIVE, QUICK)
    report = get_backend().add(t)
    report.refresh_from_db()
    assert (report.origin, report.started_by_id) == (CODE, None)
    assert events(t) == [("started", CODE, None, "", report.pk)]
    # A name given by code, as before origins, is kept as the "user name" of the event.
    other = task(LIVE, QUICK, name="other")
    audit.record(audit.STOPPED, other, "cleanup script")
    assert events(other) == [("stopped", CODE, None, "cleanup script", None)]


def test_run_once_records_its_arguments_in_the_event(task):
    bob = runner("bob")
    t = task(LIVE, QUICK)
    report = get_backend().run_once(t, "--limit=2,--sleep=0", by=Origin(ADMIN, bob))
    report.refresh_from_db()
    assert (report.origin, report.started_by_id, report.custom_arguments) == (
        ADMIN,
        bob.pk,
        True,
    )
    [event] = AuditEvent.objects.filter(task=t)
    assert (event.action, event.user_id, event.report_id) == ("started", bob.pk, report.pk)
    assert event.detail == "With other arguments: --limit=2,--sleep=0"


def test_a_schedule_runs_on_behalf_of_who_armed_it_and_both_are_recorded(task, recording):
    bob = runner("bob")
    t = task(LIVE, QUICK)
    t.scheduling = timezone.now() + timedelta(hours=1)
    t.repetition_period = Task.REPETITION_PERIOD_CHOICES[0][0]
    t.repetition_rate = 1
    t.save()
    assert recording.add(t, by=Origin(ADMIN, bob)) is None
    t.refresh_from_db()
    assert t.scheduled_by_id == bob.pk
    assert events(t) == [("scheduled", ADMIN, bob.pk, "bob", None)]

    fired = run_management_command(t.pk, f"{t.scheduled_job_id}-1")
    assert (fired.origin, fired.started_by_id) == (SCHEDULE, bob.pk)

    # Code that books the schedule again keeps who armed it.
    recording.add(t)
    t.refresh_from_db()
    assert t.scheduled_by_id == bob.pk

    recording.stop_task(t, by=Origin(ADMIN, bob))
    assert events(t)[-1] == ("unscheduled", ADMIN, bob.pk, "bob", None)


def test_a_chain_starts_its_follower_on_behalf_of_the_first_runs_user(task):
    carol = runner("carol")
    first = task("test_stdout_command", "--lines=1", name="first")
    follower = task(LIVE, QUICK, name="follower")
    Task.objects.filter(pk=follower.pk).update(follows=first)
    get_backend().add(first, by=Origin(ADMIN, carol))
    [run] = LaunchReport.objects.filter(task=follower)
    assert (run.origin, run.started_by_id, run.invocation_result) == (CHAIN, carol.pk, "ok")
    assert events(follower) == [("started", CHAIN, carol.pk, "carol", run.pk)]


def test_a_retry_is_started_on_behalf_of_the_failed_runs_user(task, recording):
    dave = runner("dave")
    t = task(LIVE, QUICK, retries=1)
    first = recording.add(t, by=Origin(ADMIN, dave))
    started = LaunchReport.objects.start_run(t.pk, first.job_id, worker="w")
    started.finish("failed", "Worker lost: killed.")
    second = LaunchReport.objects.exclude(pk=first.pk).get(task=t)
    assert (second.origin, second.started_by_id, second.attempt) == (RETRY, dave.pk, 2)


def test_a_run_fired_by_an_engine_without_a_queued_report_is_the_schedules(task):
    t = task(LIVE, QUICK)
    # A job id with no queued report: the engine fired it for a schedule.
    report = run_management_command(t.pk, "engine-job-1")
    assert (report.origin, report.started_by_id) == (SCHEDULE, None)
    # No job id at all: code called the runner itself.
    assert run_management_command(t.pk).origin == CODE


def test_stop_task_records_each_run_it_stops(task, settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    erin = runner("erin")
    t = task(LIVE, QUICK)
    queued = get_backend().add(t, by=Origin(ADMIN, erin))
    outcome = get_backend().stop_task(t, by=Origin(ADMIN, erin))
    assert outcome.stopped == 1
    assert events(t) == [
        ("started", ADMIN, erin.pk, "erin", queued.pk),
        ("stopped", ADMIN, erin.pk, "erin", queued.pk),
    ]
    queued.refresh_from_db()
    assert queued.invocation_result == "stopped"


def test_the_trail_keeps_names_when_the_task_and_user_are_gone(task):
    frank = runner("frank")
    t = task(LIVE, QUICK, name="short-lived")
    get_backend().add(t, by=Origin(ADMIN, frank))
    event = AuditEvent.objects.get(task=t)
    t.delete()
    frank.delete()
    event.refresh_from_db()
    assert (event.task_id, event.user_id) == (None, None)
    assert (event.task_name, event.username) == ("short-lived", "frank")
    assert str(event) == "frank started short-lived"


def test_a_failing_audit_write_never_stops_the_start(task, caplog):
    def refuse_audit_inserts(execute, sql, params, many, context):
        if sql.startswith("INSERT") and AuditEvent._meta.db_table in sql:
            raise DatabaseError("database is locked")
        return execute(sql, params, many, context)

    grace = runner("grace")
    t = task(LIVE, QUICK)
    with connection.execute_wrapper(refuse_audit_inserts):
        report = get_backend().add(t, by=Origin(ADMIN, grace))
    report.refresh_from_db()
    assert (report.invocation_result, report.started_by_id) == ("ok", grace.pk)
    assert not AuditEvent.objects.exists()
    assert "Could not record that grace started task" in caplog.text


@pytest.mark.parametrize("way", ["add", "run_once"])
def test_a_start_the_engine_refuses_leaves_no_run_and_no_event(task, way):
    """The start's event is written with its queued run; when the engine cannot take the
    job, both go."""
    from eztaskmanager.exceptions import TaskQueueException

    from .backends import RecordingBackend

    hana = runner("hana")
    t = task(LIVE, QUICK)
    start = getattr(RecordingBackend(fail=True), way)
    with pytest.raises(TaskQueueException):
        start(t, by=Origin(ADMIN, hana))
    assert not LaunchReport.objects.exists()
    assert events(t) == []
    assert Task.objects.get(pk=t.pk).status == "idle"
    # A later start that reaches the engine is recorded as usual.
    report = RecordingBackend().add(t, by=Origin(ADMIN, hana))
    assert events(t) == [("started", ADMIN, hana.pk, "hana", report.pk)]


def test_a_queued_run_now_with_holds_its_arguments_note_and_event_at_once(task):
    """What "Run now with..." and a chain write before the engine has the job is all
    there when it has it: the run's own arguments, its first line, the audit event."""
    from .backends import RecordingBackend

    ivan = runner("ivan")
    t = task(LIVE, QUICK)
    backend = RecordingBackend()
    seen = {}

    def enqueue(task_, job_id):
        report = LaunchReport.objects.get(job_id=job_id)
        seen.update(
            arguments=(report.arguments, report.custom_arguments),
            lines=(report.n_log_lines, report.get_log_lines()),
            events=events(t),
        )

    backend.enqueue = enqueue
    report = backend.run_once(t, "--limit=2,--sleep=0", note="Follows run 7.", by=Origin(API, ivan))
    assert seen["arguments"] == ("--limit=2,--sleep=0", True)
    count, [line] = seen["lines"]
    assert count == 1 and line.endswith(" - INFO - Follows run 7.")
    assert seen["events"] == [("started", API, ivan.pk, "ivan", report.pk)]


@contextmanager
def audit_inserts_refused_by_the_database():
    """A trigger that makes the database itself refuse every audit event: on PostgreSQL
    the failed statement aborts the whole transaction it was in."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_audit BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_audit BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DROP TRIGGER refuse_audit{' ON ' + table if connection.vendor == 'postgresql' else ''}"
            )
            if connection.vendor == "postgresql":
                cursor.execute("DROP FUNCTION refuse_audit()")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("way", ["add", "run_once"])
def test_a_start_whose_event_the_database_refuses_is_queued_without_it(task, caplog, way):
    """The event is written in the Start's own transaction, with no savepoint: when the
    database refuses it, the transaction is lost, and the run is queued again without
    its event, once."""
    from .backends import RecordingBackend

    backend = RecordingBackend()
    judy = runner("judy")
    t = task(LIVE, QUICK)
    with audit_inserts_refused_by_the_database():
        report = getattr(backend, way)(t, by=Origin(ADMIN, judy))
    assert [(r.pk, r.state, r.started_by_id) for r in LaunchReport.objects.all()] == [
        (report.pk, "queued", judy.pk)
    ]
    assert backend.calls == [("enqueue", t.pk, report.job_id)]
    assert Task.objects.get(pk=t.pk).status == "spooled"
    assert not AuditEvent.objects.exists()
    assert "Could not record that judy started task" in caplog.text
    # The trail works again once the database takes it.
    LaunchReport.objects.start_run(t.pk, report.job_id).finish("ok")
    again = backend.add(t, by=Origin(ADMIN, judy))
    assert events(t) == [("started", ADMIN, judy.pk, "judy", again.pk)]
