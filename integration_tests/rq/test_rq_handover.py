"""A forked work-horse runs on a database connection its worker opened ahead of time.

PostgreSQL only: SQLite connections never cross a fork, and a work-horse opens its own.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition
from django.utils import timezone

from eztaskmanager.models import LaunchReport
from testsupport.sessions import end_sessions, idle_sessions_opened_after
from testsupport.tasks import make_task

from .conftest import run_probe_command, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def run_probe(backend, worker) -> tuple[LaunchReport, int, datetime]:
    """Start the probe; return its finished report, its session's server pid and start."""
    report = run_probe_command(backend, worker, "session_probe")
    assert report.invocation_result == LaunchReport.RESULT_OK, report.reason
    _, pid, _, started = report.logs.get().message.split()
    return report, int(pid), datetime.fromisoformat(started)


def test_the_work_horse_runs_on_a_session_opened_before_its_job(backend, worker):
    first, first_pid, _ = run_probe(backend, worker)
    # While a work-horse runs, the worker opens the next one's connection.
    spares = wait_for(
        lambda: idle_sessions_opened_after(first.invocation_datetime),
        10,
        "the worker's spare connection",
    )
    _, pid, _ = run_probe(backend, worker)
    assert pid in spares and pid != first_pid
    # The session ends with its work-horse.
    wait_for(
        lambda: pid not in idle_sessions_opened_after(first.invocation_datetime),
        10,
        "the work-horse's session to end",
    )


def test_in_a_burst_each_work_horse_runs_on_a_session_opened_before_its_run(backend, worker):
    """The worker opens the next work-horse's connection while the current one runs, so
    with jobs waiting no work-horse opens its own (after its command, for its end)."""
    tasks = [
        make_task("session_probe", app_name="integration_tests.rq.probe", name=f"burst {i}")
        for i in range(4)
    ]
    ids = [backend.add(task).pk for task in tasks]
    wait_for(
        lambda: not LaunchReport.objects.filter(pk__in=ids, finished_at=None).exists(),
        30,
        "the burst's runs to finish",
        worker,
    )
    reports = LaunchReport.objects.filter(pk__in=ids)
    sessions = []
    for report in reports:
        assert report.invocation_result == LaunchReport.RESULT_OK, report.reason
        _, pid, _, started = report.logs.get().message.split()
        # Opened before the run started (by the worker, which starts it on the same one).
        assert datetime.fromisoformat(started) < report.invocation_datetime, report.pk
        sessions.append(int(pid))
    assert len(set(sessions)) == len(tasks)


@pytest.mark.parametrize("idle", [0.0, 1.5], ids=["at-once", "after-idling"])
def test_a_spare_connection_the_server_ended_is_replaced(backend, worker, idle):
    """Ended by a restart or an idle timeout: the run starts on a new connection all the
    same (its own, when the worker saw the spare was gone before the fork; else the
    worker's head start fails on it, and the work-horse starts the run itself)."""
    first, _, _ = run_probe(backend, worker)
    spares = wait_for(
        lambda: idle_sessions_opened_after(first.invocation_datetime),
        10,
        "the worker's spare connection",
    )
    end_sessions(spares)
    ended = timezone.now()
    time.sleep(idle)
    _, pid, started = run_probe(backend, worker)
    assert pid not in spares and started > ended


def test_other_jobs_on_the_queue_leave_the_spare_alone(backend, worker):
    """A job that is not the task manager's (it may not use the database) gets none."""
    first, _, _ = run_probe(backend, worker)
    spares = wait_for(
        lambda: idle_sessions_opened_after(first.invocation_datetime),
        10,
        "the worker's spare connection",
    )
    job = backend.queue.enqueue("integration_tests.rq.probe.jobs.call_probe", "handover:other")
    wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "the other job", worker)
    _, pid, _ = run_probe(backend, worker)
    assert pid in spares
