"""Stop and timeout from inside the run: the helper thread interrupts the command, in any thread."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.services import run_management_command
from eztaskmanager.services.monitor import Interrupter, RunStopped, RunTimedOut

pytestmark = pytest.mark.django_db(transaction=True)

STUBBORN = "sample_stubborn"


def test_a_signal_cuts_a_sleep_short_in_the_main_thread():
    assert threading.current_thread() is threading.main_thread()
    started = time.monotonic()
    with pytest.raises(RunStopped), Interrupter() as interrupter:
        threading.Timer(0.2, interrupter.interrupt, args=(RunStopped,)).start()
        time.sleep(20)
    assert time.monotonic() - started < 5


def test_another_thread_is_interrupted_at_its_next_instruction():
    caught = []

    def work():
        try:
            with Interrupter() as interrupter:
                holder.append(interrupter)
                while True:
                    time.sleep(0.01)
        except RunTimedOut as exc:
            caught.append(exc)

    holder: list[Interrupter] = []
    thread = threading.Thread(target=work)
    thread.start()
    while not holder:
        time.sleep(0.01)
    assert holder[0].interrupt(RunTimedOut)
    thread.join(5)
    assert not thread.is_alive() and len(caught) == 1


def test_nothing_is_raised_once_the_command_has_returned():
    interrupter = Interrupter()
    with interrupter:
        pass
    assert not interrupter.interrupt(RunStopped)
    time.sleep(0.1)  # a late signal would have hit us here


def run_in_thread(task_id):
    reports = []

    def target():
        try:
            reports.append(run_management_command(task_id, "job-1"))
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, reports


def wait_for_report(task, state="running", timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = LaunchReport.objects.filter(task=task, state=state).first()
        if report is not None:
            return report
        time.sleep(0.05)
    raise AssertionError(f"no {state} report after {timeout} s")


def lines_of(report):
    return [line.split(" - ", 2)[2] for line in report.get_log_lines()]


@pytest.mark.parametrize("where", ["main thread", "worker thread"])
def test_stop_ends_a_command_that_swallows_exceptions(task, where):
    # Outside the main thread the command must come back to Python now and then.
    step = ",--step=0.1" if where == "worker thread" else ""
    t = task(STUBBORN, f"--seconds=60{step}", app_name="tests.testapp")
    t.queue_run("job-1")
    if where == "worker thread":
        thread, _reports = run_in_thread(t.pk)
        report = wait_for_report(t)
        report.request_stop("alice")
        thread.join(15)
        assert not thread.is_alive()
    else:

        def stop_soon():
            report = wait_for_report(t)
            report.request_stop("alice")
            connection.close()

        threading.Thread(target=stop_soon).start()
        started = time.monotonic()
        run_management_command(t.pk, "job-1")
        assert time.monotonic() - started < 10
    report = LaunchReport.objects.get(task=t)
    assert (report.state, report.invocation_result) == ("finished", "stopped")
    assert report.reason.startswith("Stopped after ")
    lines = lines_of(report)
    assert sorted(lines[:2]) == ["Going to sleep", "Stop requested by alice."]
    assert lines[2:] == [report.reason]
    assert Task.objects.get(pk=t.pk).status == Task.STATUS_IDLE


def test_a_run_past_its_timeout_fails_saying_so(task):
    t = task(STUBBORN, "--seconds=60", app_name="tests.testapp", timeout=1)
    started = time.monotonic()
    report = run_management_command(t.pk)
    assert time.monotonic() - started < 10
    report.refresh_from_db()
    assert (report.invocation_result, report.reason, report.timeout) == (
        "failed",
        "Timed out after 1 s.",
        1,
    )


def test_the_heartbeat_goes_on_while_the_command_runs(task):
    t = task("test_livelogging_command", "--limit=30,--sleep=0.1")
    thread, _reports = run_in_thread(t.pk)
    report = wait_for_report(t)
    first = report.heartbeat_at
    time.sleep(2.5)
    report.refresh_from_db()
    assert report.heartbeat_at > first
    assert (timezone.now() - report.heartbeat_at).total_seconds() < 2
    thread.join(15)


def test_a_waiting_batch_is_written_at_once_not_at_the_next_tick(task, monkeypatch):
    """The helper sleeps between ticks; a batch of lines wakes it. Else a busy command's
    lines would pile up until the tick, and the run's end would wait for them all."""
    monkeypatch.setattr("eztaskmanager.services.monitor.TICK", 60.0)
    # 10,000 lines over a few seconds: the first batch (5,000) waits halfway through.
    t = task("test_livelogging_command", "--limit=10000,--sleep=0.0005,--trace-steps=1")
    thread, _reports = run_in_thread(t.pk)
    report = wait_for_report(t)
    deadline = time.monotonic() + 30
    while not LaunchReport.objects.get(pk=report.pk).n_log_lines:
        assert time.monotonic() < deadline, "no line was written in 30 s"
        time.sleep(0.02)
    report.refresh_from_db()
    assert report.state == "running", "no line was written before the run's end"
    thread.join(30)
    report.refresh_from_db()
    assert (report.invocation_result, report.n_log_lines) == ("ok", 10_002)


def test_a_run_declared_lost_stops_and_writes_nothing_more(task):
    """The orphan case: the run goes on after someone else ended its report."""
    t = task("test_livelogging_command", "--limit=1000,--sleep=0.02,--trace-steps=1")
    thread, _reports = run_in_thread(t.pk)
    report = wait_for_report(t)
    time.sleep(0.5)
    assert report.lost("Worker lost: declared by the test.")
    report.refresh_from_db()
    lines = report.n_log_lines
    thread.join(10)
    assert not thread.is_alive()
    report.refresh_from_db()
    assert report.n_log_lines == lines
    assert (report.invocation_result, report.reason) == (
        "failed",
        "Worker lost: declared by the test.",
    )


def test_a_command_that_catches_the_stop_and_returns_is_still_stopped(task):
    t = task(STUBBORN, "--seconds=60,--catch-everything", app_name="tests.testapp")

    def stop_soon():
        wait_for_report(t).request_stop("alice")
        connection.close()

    threading.Thread(target=stop_soon).start()
    report = run_management_command(t.pk)
    report.refresh_from_db()
    assert (report.invocation_result, report.reason[:13]) == ("stopped", "Stopped after")
    assert lines_of(report)[-2] == "Woke up"
