"""The throughput set-up of the RQ how-to: ``SimpleWorker`` with ``CONN_MAX_AGE``.

Runs go on in the worker's own process, one after the other, on one database session
that outlives them, and each ends complete. PostgreSQL only: the session is told by its
server process id.
"""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition

from eztaskmanager.models import LaunchReport
from testsupport.processes import ManagedProcess

from .test_rq_handover import run_probe

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]

SIMPLE_WORKER = "eztaskmanager_rq.worker.SimpleWorker"


@pytest.fixture
def simple_worker(cluster):
    """In place of the cluster's forking worker, on the same queue."""
    cluster.stop_worker()
    worker = ManagedProcess.manage(
        "rqworker",
        cluster.queue,
        "--worker-class",
        SIMPLE_WORKER,
        env={**cluster.env, "EZTASKMANAGER_TEST_CONN_MAX_AGE": "60"},
    )
    cluster.extra.append(worker)
    worker.wait_for_output("Listening on", timeout=60)
    yield worker
    worker.stop()
    assert "Traceback" not in worker.output, worker.output[-3000:]


def test_runs_follow_each_other_on_one_session_in_the_workers_process(backend, simple_worker):
    runs = [run_probe(backend, simple_worker) for _ in range(3)]
    assert {pid for _, pid, _ in runs} == {runs[0][1]}  # the session outlives each run
    for report, _, _ in runs:
        assert report.invocation_result == LaunchReport.RESULT_OK
        assert report.pid == simple_worker.process.pid  # no work-horse
        assert report.n_log_lines == 1
