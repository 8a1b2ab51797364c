"""The throughput set-up of the RQ how-to: ``SimpleWorker`` with ``CONN_MAX_AGE``.

Runs go on in the worker's own process, one after the other, on one database session
that outlives them, and each ends complete. With Django's default ``CONN_MAX_AGE = 0``,
each run takes a session the worker opened while it waited. PostgreSQL only: the session
is told by its server process id.
"""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition

from eztaskmanager.models import LaunchReport
from testsupport.processes import ManagedProcess
from testsupport.sessions import idle_sessions_opened_after, prepared_by_probe

from .conftest import run_probe_command, wait_for
from .test_rq_handover import run_probe

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]

SIMPLE_WORKER = "eztaskmanager_rq.worker.SimpleWorker"


@pytest.fixture
def start_simple_worker(cluster):
    """Start one in place of the cluster's forking worker, on the same queue, with this
    ``CONN_MAX_AGE`` (and more environment for its settings)."""
    workers = []

    def start(conn_max_age: str, **env: str) -> ManagedProcess:
        cluster.stop_worker()
        worker = ManagedProcess.manage(
            "rqworker",
            cluster.queue,
            "--worker-class",
            SIMPLE_WORKER,
            env={**cluster.env, "EZTASKMANAGER_TEST_CONN_MAX_AGE": conn_max_age, **env},
        )
        cluster.extra.append(worker)
        workers.append(worker)
        worker.wait_for_output("Listening on", timeout=60)
        return worker

    yield start
    for worker in workers:
        worker.stop()
        assert "Traceback" not in worker.output, worker.output[-3000:]


@pytest.fixture
def simple_worker(start_simple_worker):
    return start_simple_worker("60")


def test_runs_follow_each_other_on_one_session_in_the_workers_process(backend, simple_worker):
    runs = [run_probe(backend, simple_worker) for _ in range(3)]
    assert {pid for _, pid, _ in runs} == {runs[0][1]}  # the session outlives each run
    for report, _, _ in runs:
        assert report.invocation_result == LaunchReport.RESULT_OK
        assert report.pid == simple_worker.process.pid  # no work-horse
        assert report.n_log_lines == 1


def test_with_conn_max_age_0_each_run_takes_a_session_opened_while_the_worker_waited(
    backend, start_simple_worker
):
    worker = start_simple_worker("0")
    first, first_pid, _ = run_probe(backend, worker)
    spares = wait_for(
        lambda: idle_sessions_opened_after(first.finished_at), 10, "the worker's spare session"
    )
    second, pid, _ = run_probe(backend, worker)
    assert pid in spares and pid != first_pid
    assert second.pid == worker.process.pid
    # The session ends with its run, as CONN_MAX_AGE = 0 says; the next spare replaces it.
    wait_for(
        lambda: (
            pid not in idle_sessions_opened_after(first.finished_at)
            and idle_sessions_opened_after(second.finished_at)
        ),
        10,
        "the run's session to end, and the next spare",
    )


def prepared_in_run(backend, worker) -> list[str]:
    """Run the prepared-statements probe; return what its session held prepared."""
    report = run_probe_command(backend, worker, "prepared_probe")
    assert report.invocation_result == LaunchReport.RESULT_OK, report.reason
    return prepared_by_probe(report)


@pytest.mark.parametrize("threshold", [None, "0"], ids=["django-default", "prepare-threshold-0"])
def test_the_runs_statements_are_prepared_only_where_the_settings_allow_it(
    backend, start_simple_worker, threshold
):
    env = {} if threshold is None else {"EZTASKMANAGER_TEST_PREPARE_THRESHOLD": threshold}
    worker = start_simple_worker("60", **env)
    prepared_in_run(backend, worker)
    # The second run, on the same session, finds the first's start and end prepared.
    statements = prepared_in_run(backend, worker)
    if threshold is None:
        assert statements == []
        return
    # The run's writes, sent together (a WITH of each), and the task's lock.
    assert any(
        s.startswith("WITH") and 'UPDATE "eztaskmanager_launchreport"' in s for s in statements
    )
    assert any('FROM "eztaskmanager_task"' in s and "FOR UPDATE" in s for s in statements)
