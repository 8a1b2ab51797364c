"""The run started by its worker while the work-horse gets ready (eztaskmanager_rq.headstart).

The worker tests run RQ's real forking worker in the test process (burst mode): its
work-horses are real forked processes. Only on PostgreSQL does a work-horse get the
connection its worker opened ahead (and started its run on).
"""

from __future__ import annotations

import os
import pickle
from contextlib import suppress

import pytest
from django.db import OperationalError, connection

from eztaskmanager.models import LaunchReport
from eztaskmanager.services import runner
from eztaskmanager_rq.handover import ConnectionHandover, handover
from eztaskmanager_rq.headstart import LEFT, NOTHING, STARTED, HeadStart

from .helpers import run_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]
on_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite connections never cross a fork"
)


@pytest.fixture(autouse=True)
def worker_leaves_no_trace(keep_signal_handlers, unfreeze):
    """A started worker keeps a connection for its next work-horse."""
    yield
    handover.close()


@pytest.fixture
def starts_here(monkeypatch) -> list:
    """The starts made in this process (the worker's), with the process each was for."""
    calls = []
    start = runner.start_run_in

    def recorded(task_id, job_id, process):
        calls.append((task_id, job_id, process))
        return start(task_id, job_id, process)

    monkeypatch.setattr(runner, "start_run_in", recorded)
    return calls


@pytest.fixture(
    params=[None, pytest.param(0, marks=on_postgres)], ids=["django-default", "prepare-threshold-0"]
)
def prepare_threshold(request, monkeypatch):
    """With Django's default, and with prepared statements allowed (PostgreSQL): a
    session the worker and its work-horse use in turn prepares nothing, or the
    work-horse would prepare statements under names the worker used already."""
    if request.param is not None:
        connection.close()
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", 0)
    yield request.param
    connection.close()


def test_the_worker_starts_the_run_for_its_work_horse(
    backend, task, starts_here, prepare_threshold
):
    t = task("test_stdout_command")
    queued = backend.add(t)
    run_worker(backend)
    report = LaunchReport.objects.get(pk=queued.pk)
    assert (report.state, report.invocation_result) == ("finished", "ok"), report.reason
    assert report.get_log_lines()  # the command ran, in the work-horse
    [(task_id, job_id, process)] = starts_here
    assert (task_id, job_id) == (t.pk, queued.job_id)
    # Recorded as the work-horse's own start would: its pid, and the worker as its parent.
    assert process.pid != os.getpid() and process.parent_pid == os.getpid()
    assert (report.pid, report.parent_pid, report.worker) == (
        process.pid,
        os.getpid(),
        process.worker,
    )


def pipes_open() -> int:
    """The pipes this process holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with suppress(FileNotFoundError):  # the listing's own descriptor, closed since
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
    return count


def test_the_worker_leaves_no_pipe_open(backend, task, starts_here):
    before = pipes_open()
    for _ in range(3):  # each on an idle worker, which opened a connection ahead
        backend.add(task("test_stdout_command"))
        run_worker(backend)
    assert len(starts_here) == 3
    assert pipes_open() == before


def test_a_run_stopped_before_its_head_start_is_not_run(backend, task, starts_here):
    t = task("test_stdout_command")
    queued = backend.add(t)
    queued.request_stop("tests")  # the model's: its job stays on the queue
    run_worker(backend)
    report = LaunchReport.objects.get(pk=queued.pk)
    assert (report.invocation_result, report.pid) == ("stopped", None)
    assert len(starts_here) == 1
    assert backend.fetch_job(queued.job_id).return_value() is None


def test_a_start_the_worker_could_not_make_is_made_by_the_work_horse(backend, task, monkeypatch):
    worker_pid = os.getpid()
    start = runner.start_run_in

    def away_in_the_worker(*args):
        if os.getpid() == worker_pid:
            raise OperationalError("the database is away")
        return start(*args)

    monkeypatch.setattr(runner, "start_run_in", away_in_the_worker)
    # The first on the connection opened ahead (PostgreSQL), the second on the worker's.
    queued = [backend.add(task("test_stdout_command")) for _ in range(2)]
    run_worker(backend)
    for run in queued:
        report = LaunchReport.objects.get(pk=run.pk)
        assert report.invocation_result == "ok", report.reason
        assert report.pid not in (None, worker_pid) and report.parent_pid == worker_pid


def spare_with_head_start(task_id: int, job_id: str) -> tuple[ConnectionHandover, HeadStart]:
    spare = ConnectionHandover()
    spare.prepare()
    return spare, HeadStart(job_id, task_id, spare.spare)


@on_postgres
def test_without_the_workers_word_the_work_horse_drops_the_connection(task):
    """The worker died before it said (no write end is left): the session is closed, and
    with it any transaction of the worker's on it; the work-horse starts the run itself."""
    t = task("test_stdout_command")
    spare, head_start = spare_with_head_start(t.pk, "job-1")
    try:
        os.close(head_start.read_end)
        head_start.read_end, head_start.write_end = os.pipe()
        assert head_start.take() == (LEFT, None)
        assert head_start.connection.connection is None
    finally:
        spare.close()


@on_postgres
def test_a_work_horse_gone_before_the_word_leaves_the_run_to_its_worker(task):
    """The worker started the run; the work-horse died meanwhile (no read end is left):
    no error, and the worker's hook on its dead work-horse ends the run."""
    t = task("test_stdout_command")
    queued = t.queue_run("job-1")
    spare, head_start = spare_with_head_start(t.pk, "job-1")
    try:
        head_start.give(horse_pid=424242, worker="w")
    finally:
        spare.close()
    report = LaunchReport.objects.get(pk=queued.pk)
    assert (report.state, report.pid, report.parent_pid) == ("running", 424242, os.getpid())
    assert report.worker == "w (pid 424242)"


@on_postgres
@pytest.mark.parametrize("stopped", [False, True], ids=["started", "nothing-to-run"])
def test_the_word_carries_the_started_run(task, stopped):
    t = task("test_stdout_command")
    queued = t.queue_run("job-1")
    if stopped:
        queued.request_stop("tests")
    spare, head_start = spare_with_head_start(t.pk, "job-1")
    horse_end = os.dup(head_start.read_end)  # the work-horse's copy, kept open
    try:
        head_start.give(horse_pid=424242, worker="w")
        with os.fdopen(horse_end, "rb") as pipe:
            word = pickle.loads(pipe.read())
    finally:
        spare.close()
    if not stopped:
        assert word.said == STARTED and word.report.state == "running"
        assert word.report.task.command.name == "test_stdout_command"  # read with it
    else:
        assert word == (NOTHING, None)
