"""The worker's spare database connection (eztaskmanager_rq.handover), in one process.

What crosses the fork is tested on a real rqworker in integration_tests/rq/test_rq_handover.py.
"""

from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from eztaskmanager.models import LaunchReport
from eztaskmanager.models.compiled import CompiledRead, compiled_reads
from eztaskmanager.models.run_lifecycle import run_reads
from eztaskmanager_rq import backend, chain
from eztaskmanager_rq.handover import ConnectionHandover
from eztaskmanager_rq.jobs import RUN_FUNCTIONS

on_postgres = pytest.mark.skipif(
    "connection.vendor == 'sqlite'", reason="SQLite connections never cross a fork"
)


def test_the_jobs_that_get_a_connection_are_the_ones_the_backend_queues():
    assert {backend.RUN_TASK, chain.RUN_SCHEDULED_TASK} == RUN_FUNCTIONS


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_no_spare_on_sqlite(db):
    handover = ConnectionHandover()
    handover.prepare()
    handover.arm()
    assert (handover.spare, handover.armed) == (None, None)


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spare_is_armed_handed_over_and_closed_once_released():
    handover = ConnectionHandover()
    handover.prepare()
    spare = handover.spare
    assert spare is not connection and spare.connection is not None
    handover.arm()
    assert handover.armed is spare
    handover.after_fork()
    assert (handover.spare, handover.armed, handover.handed) == (None, None, [spare])
    handover.release()
    assert spare.connection is None and handover.handed == []


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_released_connection_is_opened_again_for_a_later_work_horse(monkeypatch):
    """On a new session, with the run's reads still compiled for it: in a burst the worker
    opens a spare for every work-horse, and compiling took a third of it."""
    handover = ConnectionHandover()
    handover.prepare()
    first = handover.spare
    first_session = first.connection.info.backend_pid
    handover.arm()
    handover.after_fork()
    handover.release()
    assert handover.reusable is first and first.connection is None
    monkeypatch.setattr(CompiledRead, "_compile", None)  # a compile would fail
    handover.prepare()
    try:
        assert handover.spare is first and handover.reusable is None
        assert first.connection.info.backend_pid != first_session
        assert all(read in compiled_reads(first) for read in run_reads())
    finally:
        handover.close()
    assert first.connection is None and handover.reusable is None


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_the_work_horse_adopts_the_armed_connection_for_its_whole_life():
    handover = ConnectionHandover()
    handover.prepare()
    handover.arm()
    spare = handover.armed
    own = connections[spare.alias]
    try:
        handover.adopt()
        assert connections[spare.alias] is spare and spare.close_at is None
        with spare.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connections[spare.alias] = own
        spare.close()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spare_comes_with_the_runs_reads_compiled_for_it(task, monkeypatch):
    """The work-horse's start and end use them as they are: it compiles nothing."""
    handover = ConnectionHandover()
    handover.prepare()
    spare = handover.spare
    reads = run_reads()
    own = connections[spare.alias]
    try:
        assert all(read in compiled_reads(spare) for read in reads)
        assert own is not spare  # only lent while they compiled
        t = task()
        t.queue_run("job-1")
        connections[spare.alias] = spare
        spare.close_at = None
        monkeypatch.setattr(CompiledRead, "_compile", None)  # a compile would fail
        with CaptureQueriesContext(spare) as queries:
            report = LaunchReport.objects.start_run(t.pk, "job-1", worker="w")
            assert report.finish("ok")
        assert report.state == "finished" and len(queries) >= 6
    finally:
        connections[spare.alias] = own
        handover.close()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spare_that_idled_and_died_is_not_handed_over(monkeypatch):
    """The work-horse then connects by itself; the next idle moment opens a new spare."""
    handover = ConnectionHandover()
    handover.prepare()
    dead = handover.spare
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dead.connection.info.backend_pid])
    monkeypatch.setattr("eztaskmanager.services.spare_connections.CHECK_AFTER_IDLE", 0.0)
    handover.arm()
    assert (handover.armed, handover.spare) == (None, None)
    handover.prepare()
    assert handover.spare.is_usable()
    handover.close()


def test_no_spare_is_armed_unless_one_was_opened_ahead():
    handover = ConnectionHandover()
    handover.arm()
    assert handover.armed is None
