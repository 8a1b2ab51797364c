"""A worker's database session from run to run, as the Celery how-to advises to set it up.

Celery's Django fixup closes every database connection before and after every task,
whatever ``CONN_MAX_AGE`` says, unless ``CELERY_DB_REUSE_MAX`` is set: only with both
does a worker keep its session (and save opening one per run). Otherwise each run's
session is opened by its pool process while it waits (``eztaskmanager_celery.spare``).
The probe prints the session it runs on (PostgreSQL's server pid and the session's start).
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from eztaskmanager.models import LaunchReport
from eztaskmanager.services.queues import get_task_service
from integration_tests.celery.conftest import purge
from testsupport.processes import ManagedProcess, child_pids
from testsupport.sessions import end_sessions, idle_sessions_opened_after, prepared_by_probe
from testsupport.tasks import make_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = f"{settings.QUEUE}-sessions"


@pytest.fixture
def start_worker(redis_cluster):
    """Start a worker on this file's queue with ``env``; stopped after the test."""
    if connection.vendor != "postgresql":
        pytest.skip("the probe reads PostgreSQL's sessions")
    purge(redis_cluster.broker_url, QUEUE)

    def start(**env: str) -> ManagedProcess:
        return redis_cluster.start_worker(queue=QUEUE, label="sessions", env=env)

    yield start
    redis_cluster.stop_process("sessions")


def finished_probe(cluster, command: str, name: str) -> LaunchReport:
    """Start a task of the probe ``command`` on this file's queue; return its report
    once it has ended ok."""
    task = make_task(command, app_name="integration_tests.rq.probe", name=name, queue=QUEUE)
    queued = get_task_service().add(task)
    report = cluster.wait_for(
        lambda: LaunchReport.objects.filter(pk=queued.pk, finished_at__isnull=False).first(),
        30,
        f"the {name} run",
    )
    assert report.invocation_result == LaunchReport.RESULT_OK, report.reason
    return report


def run_probe(cluster, name: str = "probe") -> tuple[LaunchReport, int, datetime]:
    """Start the probe; return its finished report, its session's server pid and start."""
    report = finished_probe(cluster, "session_probe", name)
    _, pid, _, started = report.logs.get().message.split()
    return report, int(pid), datetime.fromisoformat(started)


def sessions_of_two_runs(cluster) -> list[tuple[int, datetime]]:
    """Run the probe twice, one after the other; each run's session (server pid, start)."""
    return [run_probe(cluster, f"probe {i}")[1:] for i in range(2)]


def test_with_the_defaults_each_run_has_a_session_opened_while_its_process_waited(
    redis_cluster, start_worker
):
    start_worker()
    first, first_pid, _ = run_probe(redis_cluster, "first")
    # Once its run has ended, the pool process opens the next run's session.
    spares = redis_cluster.wait_for(
        lambda: idle_sessions_opened_after(first.finished_at), 10, "the spare session"
    )
    second, pid, _ = run_probe(redis_cluster, "second")
    assert pid in spares and pid != first_pid
    # The session ends with its run, as CONN_MAX_AGE = 0 says; the next spare replaces it.
    redis_cluster.wait_for(
        lambda: (
            pid not in idle_sessions_opened_after(first.finished_at)
            and idle_sessions_opened_after(second.finished_at)
        ),
        10,
        "the run's session to end, and the next spare",
    )


@pytest.mark.parametrize("idle", [0.0, 1.5], ids=["at-once", "after-idling"])
def test_a_spare_session_the_server_ended_is_replaced(redis_cluster, start_worker, idle):
    """Ended by a restart or an idle timeout: the run starts on a new session all the same
    (its own, when the pool process saw the spare was gone; else the runner's start fails
    on it and tries again on a new one)."""
    worker = start_worker()
    first, _, _ = run_probe(redis_cluster, "first")
    # The pool process's own only: once in CI another session, opened just before the
    # spare, was ended in its place, and the spare (alive) was used.
    pool = child_pids(worker.process.pid)
    spares = redis_cluster.wait_for(
        lambda: idle_sessions_opened_after(first.finished_at, pool), 10, "the spare session"
    )
    end_sessions(spares)
    ended = timezone.now()
    time.sleep(idle)
    _, pid, started = run_probe(redis_cluster, "second")
    assert pid not in spares and started > ended


def test_conn_max_age_alone_opens_a_session_per_run(redis_cluster, start_worker):
    start_worker(EZTASKMANAGER_TEST_CONN_MAX_AGE="60")
    first, second = sessions_of_two_runs(redis_cluster)
    assert first != second


def test_with_db_reuse_max_the_runs_share_one_session(redis_cluster, start_worker):
    start_worker(EZTASKMANAGER_TEST_CONN_MAX_AGE="60", EZTASKMANAGER_TEST_DB_REUSE_MAX="100")
    first, second = sessions_of_two_runs(redis_cluster)
    assert first == second


def test_with_a_prepare_threshold_the_kept_session_keeps_the_runs_statements_prepared(
    redis_cluster, start_worker
):
    start_worker(
        EZTASKMANAGER_TEST_CONN_MAX_AGE="60",
        EZTASKMANAGER_TEST_DB_REUSE_MAX="100",
        EZTASKMANAGER_TEST_PREPARE_THRESHOLD="0",
    )
    finished_probe(redis_cluster, "prepared_probe", "first")
    # The second run, on the same session, finds the first's start and end prepared.
    report = finished_probe(redis_cluster, "prepared_probe", "second")
    statements = prepared_by_probe(report)
    # The run's writes, sent together (a WITH of each), and the task's lock.
    assert any(
        s.startswith("WITH") and 'UPDATE "eztaskmanager_launchreport"' in s for s in statements
    )
    assert any('FROM "eztaskmanager_task"' in s and "FOR UPDATE" in s for s in statements)
