"""Reads compiled once per connection give what Django's queryset gives, in the same SQL;
UPDATEs written once leave the rows as Django's ``update()`` leaves them, INSERTs as
``save()`` does."""

import gc
import threading
import weakref

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eztaskmanager.models import AuditEvent, LaunchReport, Log, Task, write_log_rows
from eztaskmanager.models.compiled import (
    INT_MARKERS,
    POSITIVE_INT_MARKERS,
    STR_MARKERS,
    CompiledRead,
    CompiledRows,
    compile_ahead,
    insert_row,
    touch_row,
    update_rows,
)
from eztaskmanager.models.run_lifecycle import _queued_run, run_reads

pytestmark = pytest.mark.django_db

FACTS = ("active_state", "has_followers", "report_past_kept")


def fields_of(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def sql_of(call):
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_the_locked_task_is_the_querysets_in_the_same_sql(task):
    t = task(scheduling=timezone.now())
    t.queue_run("job-1")
    with transaction.atomic():
        compiled, compiled_sql = sql_of(lambda: Task.locked(t.pk, *FACTS, kept=0))
        plain, plain_sql = sql_of(lambda: Task._locked_rows("default", t.pk, FACTS, 0).first())
    # (Where rows cannot be locked, an UPDATE of the task's row comes first.)
    assert compiled_sql[-1:] == plain_sql
    assert fields_of(compiled) == fields_of(plain)
    assert (compiled.active_state, compiled.has_followers, compiled.report_past_kept) == (
        "queued",
        False,
        LaunchReport.objects.get(task=t).pk,
    )
    # Converted as Django converts them (SQLite stores dates as text, booleans as 0/1).
    assert compiled.scheduling == t.scheduling and compiled.scheduling.tzinfo is not None
    assert compiled._state.adding is False and compiled._state.db == "default"


def test_a_compiled_read_takes_new_values_every_time(task):
    first, second = task(), task(name="second")
    with transaction.atomic():
        assert Task.locked(first.pk).name == first.name
        assert Task.locked(second.pk).name == "second"
        assert Task.locked(second.pk + 1000) is None


def test_the_related_rows_come_with_it(task, django_assert_num_queries):
    t = task()
    t.queue_run("job-1")
    read = CompiledRead(_queued_run, task_id=INT_MARKERS[0], job_id=STR_MARKERS[0])
    with transaction.atomic():
        with django_assert_num_queries(1):
            report = read.first("default", task_id=t.pk, job_id="job-1")
            assert (report.task.name, report.task.command.name) == (t.name, t.command.name)
            assert report.task.command.active is True
        assert read.first("default", task_id=t.pk, job_id="job-2") is None
    plain = _queued_run("default", t.pk, "job-1").first()
    assert fields_of(report) == fields_of(plain)
    assert fields_of(report.task) == fields_of(plain.task)


def is_collected(reference: weakref.ref) -> bool:
    gc.collect()
    return reference() is None


@pytest.mark.django_db(transaction=True)
def test_a_threads_connection_goes_with_the_thread_though_it_compiled_a_read(task):
    """As a run's helper thread does: a connection of its own, a compiled read (the lock of
    a batch of lines), closed when the thread ends. Nothing may keep it afterwards: a
    long-lived worker would keep one for every run."""
    report = task().queue_run("job-1")
    seen = []

    def helper():
        seen.append(weakref.ref(connections["default"]))
        assert write_log_rows(report.pk, [(0.0, "INFO", "from the helper")])
        connections.close_all()

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    assert seen and seen[0]() is not connection
    assert is_collected(seen[0])
    assert LaunchReport.objects.get(pk=report.pk).n_log_lines == 1


@pytest.mark.django_db(transaction=True)
def test_a_spare_connection_goes_once_closed_and_dropped():
    """As a worker's spare: a connection made aside, the run's reads compiled for it."""
    spare = connections.create_connection("default")
    compile_ahead(spare, run_reads())
    spare.close()
    reference = weakref.ref(spare)
    del spare
    assert is_collected(reference)


@pytest.mark.parametrize("times", [0, 2])
def test_a_marker_not_once_among_the_parameters_is_refused(task, times):
    """A value Django writes into the SQL itself, or twice, cannot be swapped afterwards."""
    marker = INT_MARKERS[1]

    def build(using, pk):
        rows = Task.objects.using(using)
        return rows.filter(pk=pk, command_id=pk) if times == 2 else rows.filter(pk=1)

    with pytest.raises(RuntimeError, match=f"is {times} times among the parameters"):
        CompiledRead(build, pk=marker).first("default", pk=1)


def test_a_values_list_read_gives_the_rows_values(task):
    t = task(scheduling=timezone.now())
    read = CompiledRead(
        lambda using, pk: Task.objects.using(using).filter(pk=pk).values_list("name", "scheduling"),
        pk=INT_MARKERS[0],
    )
    assert read.first("default", pk=t.pk) == (t.name, t.scheduling)
    assert read.first("default", pk=t.pk + 1000) is None


def test_a_values_list_of_annotations_gives_them_in_its_order(task):
    t = task()
    LaunchReport.objects.create(task=t, state="queued")
    read = Task.active_kinds_read()
    assert read.first("default", pk=t.pk) == (False, True)
    assert read.first("default", pk=t.pk + 1000) is None


def test_a_values_list_whose_columns_come_in_another_order_is_refused(task):
    """Django reads a field before an annotation whatever the order asked: the tuple would
    not be the queryset's."""
    read = CompiledRead(
        lambda using, pk: (
            Task.objects.using(using)
            .filter(pk=pk)
            .annotate(twice=F("pk") * 2)
            .values_list("twice", "name")
        ),
        pk=INT_MARKERS[0],
    )
    with pytest.raises(RuntimeError, match="name them in that order"):
        read.first("default", pk=task().pk)


@pytest.mark.parametrize("absurd", [2**63, -(2**63) - 1, 10**30])
def test_an_id_no_integer_column_holds_finds_nothing(task, absurd):
    """As Django's own lookups: nothing found, where SQLite would raise OverflowError."""
    read = CompiledRead(
        lambda using, pk: Task.objects.using(using).filter(pk=pk), pk=INT_MARKERS[0]
    )
    assert read.first("default", pk=absurd) is None
    assert write_log_rows(absurd, [(0.0, "INFO", "nowhere")]) is False
    with transaction.atomic():
        assert Task.locked(absurd) is None


# Reads of many rows ---------------------------------------------------------------------------
def report_lines(using, pk, start, end):
    return (
        Log.objects.using(using)
        .filter(launch_report_id=pk, line__gte=start, line__lt=end)
        .order_by("-line")
        .values_list("line", "timestamp", "message")
    )


LINES = CompiledRows(
    report_lines, pk=INT_MARKERS[0], start=POSITIVE_INT_MARKERS[0], end=POSITIVE_INT_MARKERS[1]
)


@pytest.fixture
def logged(task):
    report = LaunchReport.objects.create(task=task(), state="running")
    write_log_rows(report.pk, [(1_700_000_000.0 + i, "INFO", f"line {i}") for i in range(12)])
    return report


def test_a_rows_read_gives_every_row_of_the_queryset_in_its_order_and_sql(logged):
    rows, compiled_sql = sql_of(lambda: LINES.all("default", pk=logged.pk, start=3, end=9))
    plain, plain_sql = sql_of(lambda: list(report_lines("default", logged.pk, 3, 9)))
    assert rows == plain and [row[0] for row in rows] == [8, 7, 6, 5, 4, 3]
    assert compiled_sql == plain_sql
    # Converted as Django converts them (SQLite stores dates as text).
    assert rows[0][1] == plain[0][1] and rows[0][1].tzinfo is not None
    assert LINES.all("default", pk=logged.pk, start=20, end=30) == []


def test_a_rows_read_is_compiled_once_per_connection(logged):
    built = []

    def build(using, pk, start, end):
        built.append(using)
        return report_lines(using, pk, start, end)

    read = CompiledRows(
        build, pk=INT_MARKERS[0], start=POSITIVE_INT_MARKERS[0], end=POSITIVE_INT_MARKERS[1]
    )
    pages = [read.all("default", pk=logged.pk, start=start, end=start + 4) for start in (0, 4, 8)]
    assert [[row[2] for row in page] for page in pages] == [
        [f"line {i}" for i in range(end - 1, end - 5, -1)] for end in (4, 8, 12)
    ]
    assert built == ["default"]


@pytest.mark.parametrize("absurd", [2**63, 10**30])
def test_a_rows_read_of_an_id_no_integer_column_holds_finds_nothing(logged, absurd):
    assert LINES.all("default", pk=absurd, start=0, end=10) == []
    assert LINES.all("default", pk=logged.pk, start=0, end=absurd) == []


def test_a_rows_read_takes_only_values_list_querysets(logged):
    read = CompiledRows(
        lambda using, pk: LaunchReport.objects.using(using).filter(pk=pk), pk=INT_MARKERS[0]
    )
    with pytest.raises(TypeError, match="values_list"):
        read.all("default", pk=logged.pk)


# UPDATEs written once ------------------------------------------------------------------------
def row_after(update, report):
    update(report)
    report.refresh_from_db()
    return fields_of(report)


def test_an_update_leaves_the_row_as_the_querysets_update_does(task):
    """Every kind of value the runs write: text, dates, none, JSON, a foreign key."""
    t = task()
    now = timezone.now()
    values = {
        "state": LaunchReport.STATE_FINISHED,
        "invocation_result": LaunchReport.RESULT_OK,
        "finished_at": now,
        "heartbeat_at": None,
        "pid": 4321,
        "progress": {"rows": {"done": 3, "total": 7, "label": "é"}},
        "started_by": None,
    }
    ours, django = (
        LaunchReport.objects.create(task=t, state="running", invocation_datetime=now)
        for _ in range(2)
    )
    assert row_after(
        lambda r: update_rows(LaunchReport, {"pk": r.pk, "state": "running"}, values), ours
    ) | {"id": None} == row_after(
        lambda r: LaunchReport.objects.filter(pk=r.pk, state="running").update(**values), django
    ) | {"id": None}
    assert ours.finished_at == now and ours.progress == values["progress"]


def test_a_foreign_key_takes_an_instance_or_its_id(task):
    t, other = task(), task(name="other")
    report = LaunchReport.objects.create(task=t, state="running")
    assert update_rows(Task, {"pk": t.pk}, {"cached_last_report": report}) == 1
    assert update_rows(Task, {"pk": other.pk}, {"cached_last_report_id": report.pk}) == 1
    assert set(Task.objects.values_list("cached_last_report", flat=True)) == {report.pk}


def test_an_update_changes_only_the_rows_that_match_every_condition(task):
    t = task()
    report = LaunchReport.objects.create(task=t, state="queued")
    assert update_rows(LaunchReport, {"pk": report.pk, "state": "running"}, {"pid": 1}) == 0
    assert update_rows(LaunchReport, {"pk": report.pk + 1000}, {"pid": 1}) == 0
    assert update_rows(LaunchReport, {"pk": 2**63}, {"pid": 1}) == 0  # no row, no error
    assert LaunchReport.objects.get().pid is None
    assert update_rows(LaunchReport, {"pk": report.pk, "state": "queued"}, {"pid": 1}) == 1
    assert LaunchReport.objects.get().pid == 1


def test_increments_add_to_what_the_row_holds(task):
    report = LaunchReport.objects.create(task=task(), state="running", n_log_lines=5)
    for _ in range(2):
        update_rows(
            LaunchReport, {"pk": report.pk}, increments={"n_log_lines": 3, "n_log_errors": 1}
        )
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_errors, report.n_log_warnings) == (11, 2, 0)


def test_a_failed_update_inside_a_transaction_marks_it_for_rollback(task):
    """As QuerySet.update() does: the caller that catches the error cannot commit half of it."""
    report = LaunchReport.objects.create(task=task(), state="running")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            update_rows(LaunchReport, {"pk": report.pk}, {"state": None})
        assert connection.needs_rollback


@pytest.mark.parametrize(
    ("where", "values", "error"),
    [
        ({"pk": 1}, {"n_log_lines": F("n_log_lines") + 1}, TypeError),
        ({"pk": 1}, {}, ValueError),
        ({}, {"pid": 1}, ValueError),
    ],
)
def test_what_update_rows_does_not_write_is_refused(task, where, values, error):
    with pytest.raises(error):
        update_rows(LaunchReport, where, values)


def test_a_touch_leaves_the_row_as_it_was_and_says_whether_it_is_there(task):
    """SQLite's stand-in for a row lock: a write that changes nothing."""
    t = task(scheduling=timezone.now())
    before = fields_of(Task.objects.get(pk=t.pk))
    _, sql = sql_of(lambda: touch_row(Task, t.pk, "status", "default"))
    assert _ is True and len(sql) == 1 and sql[0].startswith("UPDATE")
    assert fields_of(Task.objects.get(pk=t.pk)) == before
    assert touch_row(Task, t.pk + 1000, "status", "default") is False
    assert touch_row(Task, 2**63, "status", "default") is False  # no row, no error


def new_report(t, now=None, **fields):
    """A report of every kind of value a Start writes: text, dates, none, JSON, keys."""
    now = now or timezone.now()
    return LaunchReport(
        task=t,
        state="queued",
        job_id="j-é",
        queued_at=now,
        invocation_datetime=now,
        timeout=None,
        progress={"bars": [{"current": 1, "total": 2, "label": "é"}]},
        started_by=None,
        **fields,
    )


def test_an_insert_leaves_the_row_as_save_does(task):
    t = task()
    now = timezone.now()
    ours, django = new_report(t, now), new_report(t, now)
    _, sql = sql_of(lambda: insert_row(ours))
    django.save(force_insert=True)
    assert len(sql) == 1 and sql[0].startswith("INSERT")
    assert ours.pk and ours.pk != django.pk
    assert (ours._state.adding, ours._state.db) == (False, "default")
    stored = {r.pk: fields_of(r) | {"id": None} for r in LaunchReport.objects.all()}
    assert stored[ours.pk] == stored[django.pk]
    assert fields_of(ours) | {"id": None} == fields_of(django) | {"id": None}


def test_defaults_and_keys_given_by_id_are_written(task):
    t = task()
    first = insert_row(LaunchReport(task_id=t.pk, state="queued"))
    retry = insert_row(LaunchReport(task=t, state="queued", attempt=2, first_attempt_id=first.pk))
    event = insert_row(AuditEvent(action="started", source="code", task_id=t.pk, task_name="t"))
    retry.refresh_from_db()
    assert (retry.first_attempt, retry.n_log_lines, retry.progress) == (first, 0, {})
    assert AuditEvent.objects.get().at == event.at  # the field's default, as given


def test_with_someone_listening_to_the_model_save_does_it(task):
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    post_save.connect(receiver, sender=LaunchReport)
    try:
        report = insert_row(new_report(task()))
    finally:
        post_save.disconnect(receiver, sender=LaunchReport)
    assert heard == [(report.pk, True)]


def test_an_id_given_is_the_rows_id(task):
    """Written by save(), as a model with parents, or without an automatic id, would be."""
    report = insert_row(LaunchReport(pk=4242, task=task(), state="queued"))
    assert LaunchReport.objects.get(pk=4242) == report


def test_a_failed_insert_inside_a_transaction_marks_it_for_rollback(task):
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_row(LaunchReport(task_id=task().pk, state=None))
        assert connection.needs_rollback
