"""The runs' hot statements are prepared by PostgreSQL where the project allows it
(``OPTIONS["prepare_threshold"]``), and bound into their text as Django binds them where
it does not; either way they leave the same rows and raise Django's errors.

On a real worker: integration_tests/rq/test_rq_simple_worker.py.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.models.compiled import update_rows
from eztaskmanager.models.prepared import hot_cursor, never_prepare, prepares
from testsupport.sessions import end_session_of

pytestmark = pytest.mark.django_db(transaction=True)

on_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's"
)


@pytest.fixture
def threshold(monkeypatch):
    """Open the connection anew with ``OPTIONS["prepare_threshold"]`` set to the value
    given (``None``: Django's default, unset); the test's own options come back after."""
    options = connection.settings_dict["OPTIONS"]

    def set_threshold(value: int | None) -> None:
        connection.close()
        if value is None:
            monkeypatch.delitem(options, "prepare_threshold", raising=False)
        else:
            monkeypatch.setitem(options, "prepare_threshold", value)

    yield set_threshold
    connection.close()


def prepared_statements() -> list[str]:
    """The statements this session holds prepared (psycopg prepares over the protocol)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def run_once(task: Task, job_id: str) -> LaunchReport:
    """A run of ``task`` through its whole life: queued, started, alive, a line, ended."""
    task.queue_run(job_id)
    report = LaunchReport.objects.start_run(task.pk, job_id, worker="w", pid=1)
    assert report is not None
    assert report.heartbeat() == report.STATE_RUNNING
    report.append_log("INFO", f"line of {job_id}")
    assert report.finish(None)
    return LaunchReport.objects.get(pk=report.pk)


def rows_of(report: LaunchReport) -> tuple:
    task = report.task
    return (
        report.state,
        report.invocation_result,
        report.n_log_lines,
        list(report.logs.values_list("message", flat=True)),
        task.status,
        task.cached_last_report_id == report.pk,
        task.cached_last_invocation_result,
    )


@on_postgres
def test_with_a_threshold_the_hot_statements_are_prepared_and_do_the_same(task, threshold):
    threshold(None)
    plain = rows_of(run_once(task(name="plain"), "job-plain"))
    assert prepared_statements() == []  # Django's default: nothing prepared

    threshold(0)  # psycopg prepares a statement at its first execution
    assert prepares(connection)
    prepared = rows_of(run_once(task(name="prepared"), "job-prepared"))
    assert prepared[:2] == plain[:2] == ("finished", "ok")
    assert prepared[2:] == (plain[2], ["line of job-prepared"], *plain[4:])
    statements = prepared_statements()
    # The run's start and end: the task locked with its run, the UPDATEs of both rows
    # (sent together, a WITH of each).
    assert any('FROM "eztaskmanager_launchreport"' in s and "FOR UPDATE" in s for s in statements)
    assert any(
        s.startswith("WITH")
        and 'UPDATE "eztaskmanager_launchreport"' in s
        and 'UPDATE "eztaskmanager_task"' in s
        for s in statements
    )
    assert all("$1" in s for s in statements)  # values bound on the server, not in the text


@on_postgres
def test_prepared_runs_follow_each_other_on_one_connection(task, threshold):
    threshold(2)
    tasks = [task(name=f"run {i}") for i in range(6)]
    for i, t in enumerate(tasks):
        assert rows_of(run_once(t, f"job-{i}"))[:4] == ("finished", "ok", 1, [f"line of job-{i}"])
    assert len(prepared_statements()) >= 5


@on_postgres
def test_a_prepared_statement_still_raises_djangos_errors(task, threshold):
    threshold(0)
    t = task()
    update_rows(Task, {"pk": t.pk}, {"name": "renamed"})
    with pytest.raises(IntegrityError), transaction.atomic():
        update_rows(Task, {"pk": t.pk}, {"name": None})  # NOT NULL
    # The rolled-back transaction leaves the statements usable.
    assert update_rows(Task, {"pk": t.pk}, {"name": "again"}) == 1
    assert Task.objects.get(pk=t.pk).name == "again"


@on_postgres
def test_execute_wrappers_see_the_hot_statements(task, threshold):
    threshold(0)
    t = task()
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        update_rows(Task, {"pk": t.pk}, {"name": "seen"})
    assert seen and seen[0].startswith('UPDATE "eztaskmanager_task"')


def test_without_a_threshold_the_cursor_is_djangos(threshold):
    threshold(None)
    assert not prepares(connection)
    with hot_cursor(connection) as cursor, connection.cursor() as plain:
        assert type(cursor.cursor) is type(plain.cursor)


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_ignores_a_threshold(threshold):
    threshold(5)
    assert not prepares(connection)


@on_postgres
def test_while_queries_are_logged_the_log_shows_every_statement(task, threshold):
    from django.test.utils import CaptureQueriesContext

    threshold(0)
    t = task()
    with CaptureQueriesContext(connection) as captured:
        update_rows(Task, {"pk": t.pk}, {"name": "logged"})
    assert captured.captured_queries[-1]["sql"].startswith('UPDATE "eztaskmanager_task"')
    assert "'logged'" in captured.captured_queries[-1]["sql"]


@on_postgres
def test_a_session_two_processes_share_prepares_nothing(task, threshold):
    threshold(0)
    connection.ensure_connection()
    never_prepare(connection)
    assert not prepares(connection)
    run_once(task(), "job-shared")
    assert prepared_statements() == []
    connection.close()  # the next session follows the settings again
    connection.ensure_connection()
    assert prepares(connection)


@on_postgres
def test_a_session_ended_by_the_server_is_replaced_and_prepares_afresh(
    task, threshold, monkeypatch
):
    """A restart or an idle timeout ends a worker's kept session, and its prepared
    statements with it: the runner's next run starts on a new connection, which prepares
    its own."""
    from eztaskmanager.services.runner import run_management_command

    threshold(0)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # as a worker keeps it
    first = task("test_stdout_command")
    second = task("test_stdout_command", name="after the restart")
    first.queue_run("job-before")
    second.queue_run("job-after")
    assert run_management_command(first.pk, "job-before").invocation_result == "ok"
    ended = end_session_of(connection)

    assert run_management_command(second.pk, "job-after").invocation_result == "ok"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != ended
    assert prepared_statements()  # the new session's, prepared by the second run
