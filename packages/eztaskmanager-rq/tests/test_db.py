"""A forked work-horse forgets its parent's database connections instead of closing them."""

import os
import subprocess
import sys

import pytest
from django.db import connection

import eztaskmanager_rq.db  # noqa: F401 - registers the fork hook


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_leaves_the_parents_connection_alone():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    parent_connection = connection.connection
    pid = os.fork()
    if pid == 0:  # the child, like an RQ work-horse
        code = 1
        try:
            inherited_forgotten = connection.connection is None
            connection.close()  # what the core runner does: must not touch the parent's
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            code = 0 if inherited_forgotten else 2
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert connection.connection is parent_connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db(transaction=True)
def test_warming_the_orm_before_fork_opens_no_connection(monkeypatch):
    from django.db import connections

    from eztaskmanager_rq import db

    for conn in connections.all():
        conn.close()
    monkeypatch.setattr(db, "_warmed", False)
    assert db.warm_orm() is True
    assert db.warm_orm() is False  # once per process
    assert all(conn.connection is None for conn in connections.all(initialized_only=True))


def test_the_worker_imports_the_runner_before_it_forks():
    """What a work-horse imports is imported again in the next one: the worker's fork hook
    imports the runner (its log handler and helper thread) once, in a fresh process."""
    code = (
        "import sys, django; django.setup()\n"
        "from eztaskmanager_rq import db\n"
        "assert 'eztaskmanager.services.runner' not in sys.modules\n"
        "assert db.warm_orm()\n"
        "missing = [name for name in ('runner', 'logger', 'monitor')\n"
        "           if f'eztaskmanager.services.{name}' not in sys.modules]\n"
        "assert not missing, missing\n"
    )
    # This process's import path: the test project and the repository's testsupport.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang only: a busy machine imports slowly
    )
    assert done.returncode == 0, done.stderr


def test_a_worker_whose_database_is_away_compiles_nothing_ahead_and_goes_on(monkeypatch, caplog):
    """Each work-horse compiles the run's reads itself then, as before."""
    from django.db import OperationalError

    from eztaskmanager.models import run_lifecycle
    from eztaskmanager_rq import db

    def away(connection):
        raise OperationalError("connection refused")

    monkeypatch.setattr(run_lifecycle, "compile_run_reads", away)
    db.compile_run_reads_ahead()
    assert "Could not compile the run's reads ahead: connection refused" in caplog.text
