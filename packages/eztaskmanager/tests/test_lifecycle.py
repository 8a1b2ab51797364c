"""A run's life, transition by transition: each is conditional, the first final state wins."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotRunnable
from eztaskmanager.models import FiredDueTime, LaunchReport, RunBlocked, Task, write_log_rows
from eztaskmanager.models.logs import LogColumns
from eztaskmanager.notifiers import locmem
from eztaskmanager.signals import run_finished

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def status_of(task):
    return Task.objects.values_list("status", flat=True).get(pk=task.pk)


def test_queued_then_started_then_finished(task):
    t = task(LIVE)
    report = t.queue_run("job-1", timeout=30)
    assert (report.state, report.job_id, report.timeout, status_of(t)) == (
        "queued",
        "job-1",
        30,
        "spooled",
    )
    started = LaunchReport.objects.start_run(t.pk, "job-1", worker="w (pid 9)", pid=9, host_key="h")
    assert started.pk == report.pk
    assert (started.state, started.worker, started.pid, started.heartbeat_at is not None) == (
        "running",
        "w (pid 9)",
        9,
        True,
    )
    assert status_of(t) == "started"
    assert started.finish("ok")
    started.refresh_from_db()
    assert (started.state, started.invocation_result, status_of(t)) == ("finished", "ok", "idle")
    t.refresh_from_db()
    assert (t.cached_last_report_id, t.cached_last_invocation_result) == (report.pk, "ok")


def test_a_second_run_is_refused_while_one_is_queued_or_running(task):
    t = task(LIVE)
    t.queue_run("job-1")
    with pytest.raises(TaskAlreadyRunning, match="is already queued"):
        t.queue_run("job-2")
    LaunchReport.objects.start_run(t.pk, "job-1")
    with pytest.raises(TaskAlreadyRunning, match="is already running"):
        t.queue_run("job-2")
    # A schedule's job (no queued run of its own) is blocked by the running one.
    with pytest.raises(RunBlocked):
        LaunchReport.objects.start_run(t.pk, "scheduled-job")
    assert t.launchreport_set.count() == 1


def test_the_status_summarises_runs_and_schedule(task):
    t = task(LIVE)
    t.arm_schedule("sched-1", timezone.now() + timedelta(hours=1))
    assert status_of(t) == "scheduled"
    report = t.queue_run("job-1")
    assert status_of(t) == "spooled"
    LaunchReport.objects.start_run(t.pk, "job-1")
    assert status_of(t) == "started"
    report.finish("ok")
    assert status_of(t) == "scheduled"  # the schedule is still there
    assert t.clear_schedule("another-job") is False
    assert t.clear_schedule("sched-1") is True
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id, t.cached_next_ride) == ("idle", "", None)


def test_a_schedule_moves_on_only_from_the_job_it_names(task):
    t = task(LIVE)
    later = timezone.now() + timedelta(hours=1)
    t.arm_schedule("occurrence-1", later)
    assert t.advance_schedule("occurrence-1", "occurrence-2", later + timedelta(hours=1))
    assert not t.advance_schedule("occurrence-1", "occurrence-3", later)  # a stale job
    t.refresh_from_db()
    assert (t.scheduled_job_id, t.cached_next_ride) == ("occurrence-2", later + timedelta(hours=1))


def test_a_run_stopped_while_queued_never_starts(task):
    t = task(LIVE)
    report = t.queue_run("job-1")
    assert report.request_stop("alice") == "finished"
    report.refresh_from_db()
    assert (report.invocation_result, report.reason) == (
        "stopped",
        "Stopped by alice before it started.",
    )
    assert LaunchReport.objects.start_run(t.pk, "job-1") is None
    assert status_of(t) == "idle"


def test_a_running_run_is_stopping_until_it_has_stopped(task):
    t = task(LIVE)
    report = LaunchReport.objects.create(task=t, heartbeat_at=timezone.now())
    assert report.request_stop("alice") == "stopping"
    assert report.heartbeat() == "stopping"  # tells the run to stop
    assert report.request_stop("bob") == "stopping"  # asking twice changes nothing
    assert report.finish("stopped", "Stopped after 1.0 s.", states=("stopping",))
    assert report.heartbeat() == "finished"
    lines = [line.split(" - ", 2)[2] for line in report.get_log_lines()]
    assert lines == ["Stop requested by alice.", "Stopped after 1.0 s."]


def test_the_first_final_state_wins(task, caplog):
    caplog.set_level(logging.INFO)
    t = task(LIVE)
    report = LaunchReport.objects.create(task=t)
    assert report.lost("Worker lost: no heartbeat for 75 s.")
    assert not report.finish("ok")  # the orphaned process ends later: nothing changes
    assert not report.lost("again")
    report.refresh_from_db()
    assert (report.invocation_result, report.reason) == (
        "failed",
        "Worker lost: no heartbeat for 75 s.",
    )
    assert "was not ended as 'ok'" in caplog.text


def test_lost_while_stopping_is_stopped(task):
    report = LaunchReport.objects.create(task=task(LIVE), state="stopping")
    assert report.lost("Stopped: its process gave no sign of life for 12 s.")
    report.refresh_from_db()
    assert report.invocation_result == "stopped"


def test_nothing_is_written_into_a_finished_report(task):
    report = LaunchReport.objects.create(task=task(LIVE))
    assert write_log_rows(report.pk, [(time.time(), "INFO", "while running")])
    report.finish("ok")
    assert not write_log_rows(report.pk, [(time.time(), "ERROR", "after the end")])
    assert not report.append_log("WARNING", "late")
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_errors, report.invocation_result) == (1, 0, "ok")


def test_the_task_managers_own_lines_do_not_change_the_result(task):
    report = LaunchReport.objects.create(task=task(LIVE))
    write_log_rows(report.pk, [(time.time(), "WARNING", "a notice")], counted=False)
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_warnings, report.result_from_counters()) == (
        1,
        0,
        "ok",
    )


def test_an_inactive_command_fails_its_queued_run_and_ends_the_schedule(task):
    t = task(LIVE)
    t.arm_schedule("sched-1", timezone.now() + timedelta(minutes=1))
    report = t.queue_run("job-1")
    t.command.active = False
    t.command.save()
    assert LaunchReport.objects.start_run(t.pk, "job-1") is None
    report.refresh_from_db()
    assert report.invocation_result == "failed" and "is not active" in report.reason
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == ("idle", "")


def test_each_due_time_is_claimed_once(task):
    t = task(LIVE)
    due = timezone.now().replace(microsecond=0)
    assert t.claim_due(due)
    assert not t.claim_due(due)
    assert t.claim_due(due + timedelta(minutes=1))
    # Old claims are forgotten as new ones come.
    t.claim_due(due + timedelta(days=3))
    assert set(FiredDueTime.objects.filter(task=t).values_list("due_at", flat=True)) == {
        due + timedelta(days=3)
    }


def test_every_end_is_signalled_once_and_notifies(task, settings):
    settings.EZTASKMANAGER = {
        "BACKEND": "immediate",
        "NOTIFIERS": {"all": {"BACKEND": "locmem", "LEVEL": "ok"}},
    }
    locmem.outbox.clear()
    ended = []

    def receiver(sender, report, **kwargs):
        ended.append((report.pk, report.invocation_result))

    run_finished.connect(receiver)
    try:
        report = LaunchReport.objects.create(task=task(LIVE), state="stopping")
        report.lost("Stopped: its process gave no sign of life for 12 s.")
        report.finish("ok")
    finally:
        run_finished.disconnect(receiver)
    assert ended == [(report.pk, "stopped")]
    (note,) = locmem.outbox
    assert (note.result, note.reason) == (
        "stopped",
        "Stopped: its process gave no sign of life for 12 s.",
    )


def test_a_queued_run_whose_job_never_reached_the_engine_is_discarded(task):
    t = task(LIVE)
    report = t.queue_run("job-1")
    assert report.discard()
    assert not t.launchreport_set.exists() and status_of(t) == "idle"


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_make_one_run(task):
    """Eight threads start the same task at once: the row lock lets one through."""
    t = task(LIVE)
    barrier = threading.Barrier(8)
    outcomes = []

    def start(n):
        try:
            barrier.wait()
            Task.objects.get(pk=t.pk).queue_run(f"job-{n}")
            outcomes.append("queued")
        except TaskAlreadyRunning:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["queued"] + ["refused"] * 7
    assert t.launchreport_set.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_of_one_queued_run_start_it_once(task):
    """Two workers given the same job (a job handed out again): one runs it, the others
    find it started, with no error from the database's locks."""
    t = task(LIVE)
    report = t.queue_run("job-1")
    barrier = threading.Barrier(4)
    started, errors = [], []

    def start():
        try:
            barrier.wait()
            if LaunchReport.objects.start_run(t.pk, "job-1", worker="w") is not None:
                started.append(1)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(started), errors) == (1, [])
    report.refresh_from_db()
    assert (report.state, status_of(t), t.launchreport_set.count()) == ("running", "started", 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_ends_let_one_win(task):
    report = LaunchReport.objects.create(task=task(LIVE))
    barrier = threading.Barrier(6)
    wins = []

    def end(result):
        try:
            barrier.wait()
            if LaunchReport.objects.get(pk=report.pk).finish(result, f"ended {result}"):
                wins.append(result)
        finally:
            connection.close()

    results = ["ok", "failed", "stopped", "errors", "warnings", "ok"]
    threads = [threading.Thread(target=end, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    report.refresh_from_db()
    assert report.invocation_result == wins[0]
    assert report.n_log_lines == 1  # only the winner's reason line


def test_a_run_fired_by_a_schedule_that_was_stopped_meanwhile_is_refused(task):
    t = task(LIVE)
    t.arm_schedule("beat:1", timezone.now())
    t.queue_run("fire-1", schedule="beat:1").finish("ok")
    t.clear_schedule("beat:1")
    with pytest.raises(TaskNotRunnable, match="is no longer scheduled"):
        t.queue_run("fire-2", schedule="beat:1")
    assert t.launchreport_set.count() == 1


def test_a_due_time_given_back_can_be_claimed_again(task):
    t = task(LIVE)
    due = timezone.now().replace(microsecond=0)
    assert t.claim_due(due)
    assert t.release_due(due)
    assert t.claim_due(due)


@pytest.mark.django_db(transaction=True)
def test_a_run_stopped_while_its_start_waits_for_the_lock_does_not_start(task):
    """The start reads the queued run, waits for the task's lock held by a Stop, then finds
    the run ended: the conditional UPDATE refuses it, and the command never runs."""
    t = task(LIVE)
    report = t.queue_run("job-1")
    locked = threading.Event()
    started = []

    def start():
        try:
            locked.wait()
            started.append(LaunchReport.objects.start_run(t.pk, "job-1", worker="w"))
        finally:
            connection.close()

    thread = threading.Thread(target=start)
    thread.start()
    with transaction.atomic():
        Task.locked(t.pk)
        locked.set()
        time.sleep(0.3)  # the start reaches the lock meanwhile (or later: the same outcome)
        assert report.finish("stopped", "Stopped before it started.", states=("queued",))
    thread.join()
    assert started == [None]
    report.refresh_from_db()
    assert (report.state, report.invocation_result, report.worker) == ("finished", "stopped", "")
    assert status_of(t) == "idle"


@pytest.mark.django_db(transaction=True)
def test_the_task_lock_leaves_its_command_row_free(task):
    """Two tasks of one command never wait for each other: the lock is the task's row only."""
    if not connection.features.has_select_for_update_of:
        pytest.skip("the database locks whole tables or the whole database")
    t = task(LIVE)
    outcome = []

    def lock_the_command():
        try:
            with transaction.atomic():
                cursor = connection.cursor()
                table = t.command._meta.db_table
                cursor.execute(
                    f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [t.command_id]
                )
                outcome.append("locked")
        except Exception as exc:
            outcome.append(type(exc).__name__)
        finally:
            connection.close()

    with transaction.atomic():
        assert Task.locked(t.pk).command == t.command
        thread = threading.Thread(target=lock_the_command)
        thread.start()
        thread.join()
    assert outcome == ["locked"]


def statements(call):
    """``call()``'s result and the SQL statements it ran (savepoints aside)."""
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_queueing_and_starting_a_run_take_few_statements(task):
    """Round trips are most of a dispatch: the queued run's status needs no read of the
    runs, and a start reads the run, its task and command in the statement that locks."""
    t = task(LIVE)
    # Where the database cannot lock a row, the lock is an UPDATE before the read.
    lock_extra = 0 if connection.features.has_select_for_update else 1
    report, sql = statements(lambda: t.queue_run("job-1"))
    # Lock the task reading the run going on (if any), insert the queued run, store the status.
    assert len(sql) == 3 + lock_extra, sql
    assert (report.state, status_of(t)) == ("queued", "spooled")
    started, sql = statements(lambda: LaunchReport.objects.start_run(t.pk, "job-1", worker="w"))
    # Lock the task reading the run; mark it running and store the status (one statement
    # on PostgreSQL, a WITH of both).
    features = connection.features
    one_read = features.has_select_for_update_of or not features.has_select_for_update
    writes = 1 if connection.vendor == "postgresql" else 2
    assert len(sql) == (1 if one_read else 2) + writes + lock_extra, sql
    assert (started.pk, started.state, status_of(t)) == (report.pk, "running", "started")
    assert started.task.command.name == LIVE
    # A schedule's job has no queued run: the task is locked once all the same.
    t2 = task(LIVE, name="scheduled")
    scheduled, sql = statements(lambda: LaunchReport.objects.start_run(t2.pk, "fire-1"))
    assert scheduled.state == "running"
    assert sum('SET "status" = "status"' in q for q in sql) == lock_extra, sql


def test_ending_a_run_takes_few_statements_and_reads_its_counters(task):
    """The end reads the run once (state and counters) and stores the task's status and
    last-run figures in one UPDATE; ``finish(None)`` takes the result from the counters."""
    t = task(LIVE)
    t.queue_run("job-1")
    started = LaunchReport.objects.start_run(t.pk, "job-1", worker="w")
    # Written by another connection's helper thread in a real run: the object never saw it.
    write_log_rows(started.pk, [(time.time(), "WARNING", "careful")])
    lock_extra = 0 if connection.features.has_select_for_update else 1
    ended, sql = statements(lambda: started.finish(None))
    assert ended
    # Lock the task (reading whether reports are to prune and tasks follow it: neither),
    # read the run and whether the task has other runs going on, end it and store the
    # task (one statement on PostgreSQL, a WITH of both); nothing after.
    writes = 1 if connection.vendor == "postgresql" else 2
    assert len(sql) == 2 + writes + lock_extra, sql
    assert (started.invocation_result, started.n_log_warnings) == ("warnings", 1)
    t.refresh_from_db()
    assert (t.status, t.cached_last_report_id, t.cached_last_invocation_result) == (
        "idle",
        started.pk,
        "warnings",
    )
    assert t.cached_last_invocation_n_warnings == 1


def test_the_ends_reread_takes_the_row_as_refresh_from_db_does(task, django_user_model):
    """What another process wrote is read; a related object whose key changed is not kept."""
    alice, bob = (django_user_model.objects.create(username=name) for name in ("alice", "bob"))
    report = LaunchReport.objects.create(task=task(LIVE), state="running", started_by=alice)
    assert report.started_by == alice  # cached
    LaunchReport.objects.filter(pk=report.pk).update(
        state="stopping", n_log_lines=7, started_by=bob
    )
    with transaction.atomic():
        assert report._reread() == ("stopping", set())
    assert (report.n_log_lines, report.started_by) == (7, bob)
    LaunchReport.objects.filter(pk=report.pk).delete()
    with transaction.atomic():
        assert report._reread() == (None, set())


def last_lines(*rows):
    """``LogColumns`` of ``(level, message)`` rows, as the runner hands them to the end."""
    return LogColumns([time.time()] * len(rows), [r[0] for r in rows], [r[1] for r in rows])


def test_a_runs_last_lines_are_written_and_counted_with_its_end(task):
    t = task(LIVE)
    t.queue_run("job-1")
    report = LaunchReport.objects.start_run(t.pk, "job-1", worker="w")
    write_log_rows(report.pk, [(time.time(), "INFO", "from the helper")])
    lines = last_lines(("INFO", "one"), ("ERROR", "two"), ("WARNING", "three"))
    assert report.finish(None, "Ended.", lines=lines)
    assert list(report.logs.order_by("line").values_list("line", "level", "message")) == [
        (0, "INFO", "from the helper"),
        (1, "INFO", "one"),
        (2, "ERROR", "two"),
        (3, "WARNING", "three"),
        (4, "WARNING", "Ended."),  # the reason: uncounted
    ]
    stored = LaunchReport.objects.get(pk=report.pk)
    for run in (report, stored):  # the object as the row
        assert (run.n_log_lines, run.n_log_errors, run.n_log_warnings) == (5, 1, 1)
        assert run.invocation_result == "errors"
    assert Task.objects.get(pk=t.pk).cached_last_invocation_n_errors == 1


def test_the_last_lines_of_a_run_that_had_ended_are_dropped_with_its_end(task):
    report = LaunchReport.objects.create(task=task(LIVE), state="running")
    assert report.lost("Its process gave no sign of life.")
    late = LaunchReport.objects.get(pk=report.pk)
    assert not late.finish(None, lines=last_lines(("ERROR", "too late")))
    assert list(late.logs.values_list("message", flat=True)) == [
        "Its process gave no sign of life."
    ]
    late.refresh_from_db()
    assert (late.n_log_lines, late.n_log_errors, late.invocation_result) == (1, 0, "failed")


def test_an_end_that_fails_writes_none_of_its_lines(task, monkeypatch):
    """The lines and the end are one transaction: tried again, they are written once."""
    report = LaunchReport.objects.create(task=task(LIVE), state="running")

    def fail(self, report, active_states):
        raise DatabaseError("the server went away")

    with monkeypatch.context() as patched:
        patched.setattr(Task, "end_write", fail)
        with pytest.raises(DatabaseError):
            report.finish(None, lines=last_lines(("WARNING", "last")))
    assert not report.logs.exists()
    assert LaunchReport.objects.get(pk=report.pk).state == "running"
    again = LaunchReport.objects.get(pk=report.pk)
    assert again.finish(None, lines=last_lines(("WARNING", "last")))
    assert list(again.logs.values_list("line", "message")) == [(0, "last")]
    assert (again.n_log_lines, again.invocation_result) == (1, "warnings")


def test_a_run_ended_after_a_newer_one_leaves_the_last_run_figures(task):
    """An orphan declared lost late is older than the run that followed it: the task's
    last-run figures stay those of the newer run."""
    t = task(LIVE)
    t.queue_run("old")
    old = LaunchReport.objects.start_run(t.pk, "old", worker="w")
    LaunchReport.objects.filter(pk=old.pk).update(
        invocation_datetime=timezone.now() - timedelta(hours=1)
    )
    newer = LaunchReport.objects.create(
        task=t, state="finished", invocation_result="ok", finished_at=timezone.now()
    )
    t.compute_cache()
    assert old.lost("Worker lost: gone.")
    t.refresh_from_db()
    assert (t.cached_last_report_id, t.cached_last_invocation_result, t.status) == (
        newer.pk,
        "ok",
        "idle",
    )


@pytest.mark.parametrize(
    ("other", "ending", "status"),
    [
        ("queued", "running", "spooled"),  # a run queued behind the one that ends
        ("running", "queued", "started"),  # a queued run stopped while another runs
        ("stopping", "running", "started"),
        ("finished", "running", "idle"),
    ],
)
def test_an_end_leaves_the_status_the_tasks_other_runs_give(task, other, ending, status):
    """The end reads the task's other runs with its own, under the lock, and stores the
    status they give in the statement that ends the run."""
    t = task(LIVE)
    LaunchReport.objects.create(task=t, state=other)
    report = LaunchReport.objects.create(task=t, state=ending)
    assert report.finish("stopped", "Stopped.", states=(ending,))
    assert status_of(t) == status
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "stopped")
