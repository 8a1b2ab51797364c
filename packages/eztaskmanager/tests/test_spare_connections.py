"""A worker process's spare database connection (SpareConnection), in one process.

On real workers: integration_tests/celery/test_redis_connections.py (a Celery prefork pool
process) and integration_tests/rq/test_rq_simple_worker.py (an RQ SimpleWorker).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from eztaskmanager.models.compiled import compiled_reads
from eztaskmanager.services import spare_connections as spare_module
from eztaskmanager.services.spare_connections import SpareConnection, give_back_age

on_postgres = pytest.mark.skipif(
    "connection.vendor == 'sqlite'", reason="SQLite connections are opened in the run"
)


def backend_pid(conn=None) -> int:
    with (conn or connections["default"]).cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def pool_process(monkeypatch):
    """A SpareConnection as in a worker's process, with Django's CONN_MAX_AGE = 0 and no
    connection open (closed after the last run); the test's own connection comes back
    after."""
    own = connections["default"]
    own.close()
    monkeypatch.setitem(own.settings_dict, "CONN_MAX_AGE", 0)
    spares = SpareConnection()
    spares.enabled = True
    yield spares
    spares.close()
    connections["default"].close()
    connections["default"] = own


def ready(spares: SpareConnection) -> None:
    """Let the spare's thread open it, as an idle process would."""
    spares.opening.join()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_the_next_run_takes_the_spare_opened_after_the_last_and_its_session_ends_with_it(
    pool_process,
):
    with pool_process.around_run():
        first = connections["default"]
        first_pid = backend_pid()
    assert pool_process.opening is not None
    ready(pool_process)
    spare = pool_process.spare
    spare_pid = backend_pid(spare)
    first.close()  # as the runner's end does, CONN_MAX_AGE = 0
    with pool_process.around_run():
        assert connections["default"] is spare
        assert backend_pid() == spare_pid != first_pid
    assert spare.connection is None  # CONN_MAX_AGE = 0: ended with its run
    ready(pool_process)
    assert pool_process.spare is not None and pool_process.spare is not spare


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_runs_take_turns_with_two_connection_objects_whose_reads_are_compiled_once(
    pool_process,
):
    """A spare is opened in the connection object the run before the last one used:
    building a new one for each spare, and compiling the run's reads for it, cost ~4.5 ms
    and left the worker's memory fragmented (three arenas more per 1,000 runs)."""
    with pool_process.around_run():
        first = connections["default"]
        backend_pid()
    first.close()  # as the runner's end does, CONN_MAX_AGE = 0
    ready(pool_process)
    second = pool_process.spare
    reads = dict(compiled_reads(second))
    assert reads
    pids = set()
    for expected in (first, second, first):
        with pool_process.around_run():
            pids.add(backend_pid())
        ready(pool_process)
        assert pool_process.spare is expected and expected.connection is not None
    assert len(pids) == 3  # a new session each time, in the same two objects
    assert compiled_reads(second) == reads  # the very statements compiled the first time


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_that_comes_before_the_process_idled_opens_its_own(pool_process, monkeypatch):
    """In a burst: the spare is called off, and no session is opened for nothing; the
    connection object made for it waits for the next spare."""
    monkeypatch.setattr(spare_module, "IDLE_FIRST", 30.0)
    pool_process.prepare("default")
    opening, candidate = pool_process.opening, pool_process.candidate
    assert pool_process.adopt("default") is None
    assert not opening.is_alive() and pool_process.spare is None
    assert candidate.connection is None
    pool_process.prepare("default")
    assert pool_process.candidate is candidate


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spare_being_opened_is_waited_for(pool_process, stuck_open, monkeypatch):
    monkeypatch.setattr(spare_module, "WAIT_FOR_SPARE", 5.0)
    connecting, go_on = stuck_open
    pool_process.prepare("default")
    assert connecting.wait(5)
    threading.Timer(0.2, go_on.set).start()
    adopted = pool_process.adopt("default")
    assert adopted is not None and connections["default"] is adopted
    assert backend_pid() == adopted.connection.info.backend_pid


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spare_the_server_ended_is_dropped_once_it_idled(pool_process, monkeypatch):
    pool_process.prepare("default")
    ready(pool_process)
    dead = pool_process.spare
    with connections.create_connection("default").cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dead.connection.info.backend_pid])
    monkeypatch.setattr(spare_module, "CHECK_AFTER_IDLE", 0.0)
    assert pool_process.adopt("default") is None
    assert dead.connection is None
    backend_pid()  # the run opens its own


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_process_that_keeps_its_connection_opens_no_spare(pool_process):
    """CONN_MAX_AGE above 0 (with CELERY_DB_REUSE_MAX on Celery): the run's connection
    is open at the next."""
    with pool_process.around_run():
        backend_pid()
    ready(pool_process)
    spare = pool_process.spare
    backend_pid()  # the connection kept from the last run
    with pool_process.around_run():
        pass
    assert pool_process.connection_kept and pool_process.opening is None
    assert spare.connection is None and pool_process.spare is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_pool_process", [False, True])
def test_no_spare_outside_a_worker_nor_on_sqlite(pool_process, in_pool_process):
    pool_process.enabled = in_pool_process
    if in_pool_process and connection.vendor != "sqlite":
        pytest.skip("a worker's process on PostgreSQL has spares")
    with pool_process.around_run():
        backend = connections["default"]
    with pool_process.around_run():
        assert connections["default"] is backend
    assert pool_process.opening is None and pool_process.spare is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("max_age", "closed"), [(0, True), (60, False), (None, False)])
def test_a_taken_spare_is_aged_from_its_run_s_start(max_age, closed, monkeypatch):
    conn = connections.create_connection("default")
    try:
        conn.connect()
        monkeypatch.setitem(conn.settings_dict, "CONN_MAX_AGE", max_age)
        conn.close_at = None
        give_back_age(conn, opened_at=time.monotonic())
        assert (conn.connection is None) is closed
    finally:
        conn.close()


@pytest.fixture
def stuck_open(monkeypatch):
    """Opening a spare hangs (a server slow to answer) until ``release()`` is called."""
    monkeypatch.setattr(spare_module, "IDLE_FIRST", 0.0)
    monkeypatch.setattr(spare_module, "WAIT_FOR_SPARE", 0.2)
    connecting, go_on = threading.Event(), threading.Event()
    real_open = spare_module.open_spare

    def slow_open(spare):
        connecting.set()
        go_on.wait(10)
        return real_open(spare)

    monkeypatch.setattr(spare_module, "open_spare", slow_open)
    yield connecting, go_on
    go_on.set()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_waits_for_a_stuck_spare_only_a_moment_and_a_later_run_takes_it(
    pool_process, stuck_open
):
    connecting, go_on = stuck_open
    pool_process.prepare("default")
    assert connecting.wait(5)
    began = time.monotonic()
    assert pool_process.adopt("default") is None  # the run opens its own
    assert 0.2 <= time.monotonic() - began < 2
    go_on.set()
    ready(pool_process)
    spare = pool_process.spare
    assert spare is not None and pool_process.adopt("default") is spare


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_spare_that_comes_after_the_process_closed_it_closes_itself(pool_process, stuck_open):
    connecting, go_on = stuck_open
    pool_process.prepare("default")
    assert connecting.wait(5)
    opening = pool_process.opening
    pool_process.close()  # the pool process leaves; its spare is still on its way
    go_on.set()
    opening.join(5)
    assert not opening.is_alive() and pool_process.spare is None
