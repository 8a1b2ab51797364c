"""Writes sent together: one statement on PostgreSQL, one after another elsewhere; each
one's changed rows counted, all of them kept or none."""

import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Log, Task
from eztaskmanager.models.compiled import update_write
from eztaskmanager.models.logs import LogColumns, lines_write
from eztaskmanager.models.writes import write_together

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def sent(writes):
    with CaptureQueriesContext(connection) as captured:
        counts = write_together("default", writes)
    return counts, [q["sql"] for q in captured.captured_queries]


def test_each_writes_rows_are_counted_in_one_statement_on_postgresql(task):
    t = task(LIVE)
    queued = LaunchReport.objects.create(task=t, state="queued")
    counts, sql = sent(
        [
            update_write(LaunchReport, {"pk": queued.pk, "state": "queued"}, {"state": "running"}),
            update_write(LaunchReport, {"pk": queued.pk + 1000}, {"state": "running"}),
            update_write(Task, {"command": t.command_id}, {"status": "started"}),
        ]
    )
    assert counts == [1, 0, 1]
    assert len(sql) == (1 if connection.vendor == "postgresql" else 3), sql
    queued.refresh_from_db()
    assert (queued.state, Task.objects.get(pk=t.pk).status) == ("running", "started")


def test_a_write_that_can_change_no_row_is_not_sent(task):
    t = task(LIVE)
    impossible = update_write(Task, {"pk": 2**63}, {"status": "started"})
    assert impossible is None  # no row has such an id (SQLite would raise)
    counts, sql = sent([impossible, update_write(Task, {"pk": t.pk}, {"status": "spooled"})])
    assert counts == [0, 1] and len(sql) == 1
    assert sent([None]) == ([0], [])


def test_a_refused_write_keeps_none_of_the_others(task):
    """One statement on PostgreSQL, one transaction everywhere: nothing of it stays, and the
    transaction is marked for rollback as Django's own writes mark it."""
    t = task(LIVE)
    report = LaunchReport.objects.create(task=t, state="running")
    first, second = (
        Log.objects.create(launch_report=report, line=n, timestamp=timezone.now(), level="INFO")
        for n in (0, 1)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        write_together(
            "default",
            [
                update_write(Task, {"pk": t.pk}, {"status": "started"}),
                # The line of another: the log's unique (report, line) refuses it.
                update_write(Log, {"pk": second.pk}, {"line": first.line}),
            ],
        )
        pytest.fail("not refused")
    assert Task.objects.get(pk=t.pk).status == "idle"
    assert list(report.logs.values_list("line", flat=True)) == [0, 1]


def test_an_error_marks_the_transaction_for_rollback(task):
    t = task(LIVE)
    report = LaunchReport.objects.create(task=t, state="running")
    first, second = (
        Log.objects.create(launch_report=report, line=n, timestamp=timezone.now(), level="INFO")
        for n in (0, 1)
    )
    clash = update_write(Log, {"pk": second.pk}, {"line": first.line})
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            write_together("default", [update_write(Task, {"pk": t.pk}, {"status": "x"}), clash])
        assert transaction.get_rollback()  # the block ends rolled back, without raising
    assert Task.objects.get(pk=t.pk).status == "idle"


def test_a_few_lines_go_together_only_on_postgresql(task):
    report = LaunchReport.objects.create(task=task(LIVE), state="running")
    few = LogColumns([time.time()] * 8, ["INFO"] * 8, ["x"] * 8)
    many = LogColumns([time.time()] * 9, ["INFO"] * 9, ["x"] * 9)
    write = lines_write(report.pk, 0, few)
    if connection.vendor != "postgresql":
        assert write is None
        return
    assert write.sql.startswith("INSERT") and len(write.params) == 8 * 5
    assert lines_write(report.pk, 0, many) is None  # a COPY
    assert lines_write(report.pk, 0, LogColumns([], [], [])) is None
