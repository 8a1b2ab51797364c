"""A test's closing flush outlives a deadlock with a worker's join (``testsupport.flush``).

The scene is the one met at an integration test's teardown, made certain: another
session holds the last table the ``TRUNCATE`` names and, once the ``TRUNCATE`` waits for
it, reads the first one, which the ``TRUNCATE`` holds. PostgreSQL ends the ``TRUNCATE``,
which waited first.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.db import connection
from django.db.backends.base.operations import BaseDatabaseOperations

from eztaskmanager.models import TaskCategory
from testsupport.flush import retrying_on_deadlock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's deadlocks"),
]


def truncated_tables() -> list[str]:
    """The tables Django's flush truncates, in the order its one statement names them."""
    (sql,) = sql_flush(no_style(), connection, reset_sequences=False)
    names = sql.removeprefix("TRUNCATE ").removesuffix(";")
    return [name.strip('"') for name in names.split(", ")]


class Worker(threading.Thread):
    """A session that holds the last table, then reads the first once the flush waits."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.tables = truncated_tables()
        params = connection.get_connection_params()
        self.session = connection.get_new_connection(params)
        self.session.execute(f'SELECT 1 FROM "{self.tables[-1]}" LIMIT 1')  # opens a transaction
        # Watched from outside the transaction, whose view of pg_stat_activity stays put.
        self.watch = connection.get_new_connection(params)
        self.watch.autocommit = True
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 10
            while not self.flush_waits() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.session.execute(f'SELECT 1 FROM "{self.tables[0]}" LIMIT 1')
            self.session.commit()
        except BaseException as exc:
            self.error = exc
        finally:
            self.session.close()
            self.watch.close()

    def flush_waits(self) -> bool:
        return bool(
            self.watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE 'TRUNCATE%%'"
            ).fetchone()[0]
        )


def flush_during(worker: Worker) -> None:
    worker.start()
    try:
        call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    finally:
        worker.join(15)
    assert worker.error is None


@pytest.fixture
def attempts(monkeypatch):
    """Django's own flush, counted; the test puts the retry around it or not."""
    current = BaseDatabaseOperations.execute_sql_flush
    django_flush = getattr(current, "__wrapped__", current)
    calls = []

    def counted(self, sql_list):
        calls.append(sql_list)
        return django_flush(self, sql_list)

    def install(retry: bool) -> None:
        flush = retrying_on_deadlock(counted) if retry else counted
        monkeypatch.setattr(BaseDatabaseOperations, "execute_sql_flush", flush)

    install.calls = calls
    return install


def test_without_the_retry_the_scene_fails_the_flush(attempts):
    attempts(retry=False)
    TaskCategory.objects.create(name="kept")
    with pytest.raises(CommandError, match="couldn't be flushed") as raised:
        flush_during(Worker())
    assert "deadlock detected" in str(raised.value.__cause__)
    assert TaskCategory.objects.filter(name="kept").exists()


def test_the_flush_is_done_again_after_the_deadlock(attempts):
    attempts(retry=True)
    TaskCategory.objects.create(name="flushed")
    flush_during(Worker())
    assert len(attempts.calls) == 2
    assert not TaskCategory.objects.exists()
