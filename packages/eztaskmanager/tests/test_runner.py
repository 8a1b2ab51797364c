import os
from datetime import timedelta

import pytest
from django.db import DataError
from django.test import override_settings
from django.utils import timezone

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotRunnable
from eztaskmanager.models import LaunchReport, Task, run_lifecycle
from eztaskmanager.notifiers import locmem
from eztaskmanager.processes import forked_process
from eztaskmanager.services import run_management_command, runner
from eztaskmanager.services.queues import get_task_service

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def start(task):
    get_task_service().add(task)
    task.refresh_from_db()
    return task.launchreport_set.get() if task.launchreport_set.count() == 1 else None


def test_ok_run(task):
    t = task(LIVE, "--limit=20,--sleep=0,--verbosity=3")
    report = start(t)
    assert report.invocation_result == "ok"
    assert report.n_log_lines == 20 + 2 + 2  # debug per step, info every 10, start, finished
    assert (report.n_log_errors, report.n_log_warnings) == (0, 0)
    assert report.finished_at and report.duration >= timedelta(0)
    assert t.status == Task.STATUS_IDLE
    assert (t.cached_last_invocation_result, t.cached_last_report_id) == ("ok", report.pk)
    assert t.cached_last_invocation_datetime == report.invocation_datetime
    # Run in this process, which the test runner started.
    assert (report.pid, report.parent_pid) == (os.getpid(), os.getppid())


def test_a_run_started_for_a_forked_process_is_run_by_it(task):
    """As an RQ worker starts the run of the work-horse it has just forked."""
    t = task(LIVE, "--limit=3,--sleep=0")
    queued = t.queue_run("job-1")
    horse = forked_process(424242, "rq-worker")
    report = runner.start_run_in(t.pk, "job-1", horse)
    assert (report.pk, report.state, report.pid, report.parent_pid) == (
        queued.pk,
        "running",
        424242,
        os.getpid(),
    )
    assert report.worker == "rq-worker (pid 424242)" and report.host_key == horse.host_key
    assert runner.run_started(report) is report
    report.refresh_from_db()
    assert (report.invocation_result, report.n_log_lines) == ("ok", 2)  # its start, its end
    assert report.log_tail(1)[0].endswith("Finished")
    assert runner.start_run_in(t.pk, "job-1", horse) is None  # once


def test_verbosity_filters_debug(task):
    report = start(task(LIVE, "--limit=20,--sleep=0"))
    assert report.n_log_lines == 4
    assert [line.split(" - ")[2] for line in report.log_tail(2)] == ["20/20", "Finished"]


def test_warnings_and_errors(task):
    report = start(task(LIVE, "--limit=10,--sleep=0,--warning-prob=1"))
    assert (report.invocation_result, report.n_log_warnings) == ("warnings", 10)
    t = report.task
    assert t.cached_last_invocation_n_warnings == 10
    report = start(task(LIVE, "--limit=10,--sleep=0,--warning-prob=1,--error-prob=1"))
    assert (report.invocation_result, report.n_log_errors) == ("errors", 10)


def test_exception_fails_with_traceback(task):
    report = start(task("test_failing_command"))
    assert report.invocation_result == "failed"
    levels = list(report.logs.values_list("level", flat=True))
    assert levels == ["INFO", "ERROR"]
    traceback_line = report.logs.get(level="ERROR").message
    assert traceback_line.startswith("Traceback (most recent call last):")
    assert traceback_line.endswith("RuntimeError: This command always fails")
    assert report.n_log_errors == 1


def test_command_error_fails(task):
    report = start(task("sample_required", app_name="tests.testapp", arguments="--target=x"))
    assert report.invocation_result == "ok"
    t = report.task
    Task.objects.filter(pk=t.pk).update(
        arguments="--target=x,--nope"
    )  # saved behind validation's back
    t.refresh_from_db()
    run_management_command(t.pk)
    report = t.launchreport_set.order_by("-invocation_datetime").first()
    assert report.invocation_result == "failed"
    assert "unrecognized arguments: --nope" in report.get_log_lines()[-1]


def test_stdout_and_stderr_are_stored(task):
    report = start(task("test_stdout_command", "--lines=2,--with-stderr"))
    assert [(log.level, log.message) for log in report.logs.all()] == [
        ("INFO", "Line 1 to stdout"),
        ("INFO", "Line 2 to stdout"),
        ("WARNING", "A line to stderr"),
    ]
    assert report.invocation_result == "warnings"


def test_stdout_only_is_ok(task):
    report = start(task("test_stdout_command", "--lines=1"))
    assert list(report.logs.values_list("level", "message")) == [("INFO", "Line 1 to stdout")]
    assert report.invocation_result == "ok"


def test_module_logger_records_are_stored(task):
    report = start(task("sample_logging", app_name="tests.testapp"))
    assert list(report.logs.values_list("level", "message")) == [
        ("WARNING", "module warning"),
        ("ERROR", "module error"),
    ]
    assert report.invocation_result == "errors"


def test_positional_and_quoted_arguments_reach_the_command(task):
    report = start(task("sample_args", 'a b, --title="x, y", -f', app_name="tests.testapp"))
    (line,) = report.logs.values_list("message", flat=True)
    assert line == "names=['a', 'b'] limit=10 title='x, y' force=True secondarg=[] mode=fast"


def test_reports_are_pruned(task):
    t = task(LIVE, "--limit=1,--sleep=0")
    with override_settings(EZTASKMANAGER={"BACKEND": "immediate", "REPORTS_KEPT": 3}):
        for _ in range(5):
            get_task_service().add(t)
    reports = list(t.launchreport_set.order_by("invocation_datetime"))
    assert len(reports) == 3
    t.refresh_from_db()
    assert t.cached_last_report_id == reports[-1].pk


def test_prune_reports_keeps_latest(task):
    t = task(LIVE)
    now = timezone.now()
    for i in range(4):
        LaunchReport.objects.create(
            task=t,
            invocation_datetime=now - timedelta(minutes=i),
            state="finished",
            finished_at=now,
        )
    running = LaunchReport.objects.create(task=t, invocation_datetime=now - timedelta(hours=1))
    assert t.prune_reports(2) == 2
    assert list(t.launchreport_set.values_list("invocation_datetime", flat=True)) == [
        now,
        now - timedelta(minutes=1),
        running.invocation_datetime,  # a run that has not ended is never pruned
    ]


def test_second_start_while_running_is_refused(task):
    t = task(LIVE, "--limit=1,--sleep=0")
    running = LaunchReport.objects.create(task=t, heartbeat_at=timezone.now())
    with pytest.raises(TaskAlreadyRunning, match="is already running"):
        get_task_service().add(t)
    assert run_management_command(t.pk) is None  # a scheduled job arriving now is skipped
    assert list(t.launchreport_set.all()) == [running]
    assert running.get_log_lines()[-1].endswith("was skipped: this run was still going on.")


def test_inactive_command_cannot_start(task):
    t = task(LIVE)
    t.command.active = False
    t.command.save()
    with pytest.raises(TaskNotRunnable, match="not active"):
        get_task_service().add(t)
    assert run_management_command(t.pk) is None  # a job queued before deactivation
    report = t.launchreport_set.get()
    assert (report.invocation_result, report.reason) == (
        "failed",
        "Not run: The command eztaskmanager: test_livelogging_command is not active.",
    )
    assert report.get_log_lines()[-1].endswith(report.reason)


def test_deleted_task_is_dropped(task):
    t = task(LIVE)
    pk = t.pk
    t.delete()
    assert run_management_command(pk) is None


def test_task_deleted_during_its_run(task, monkeypatch):
    t = task("test_stdout_command")
    real_execute = runner.execute

    def execute_then_delete(report, *args):
        result = real_execute(report, *args)
        Task.objects.filter(pk=report.task_id).delete()
        return result

    monkeypatch.setattr(runner, "execute", execute_then_delete)
    report = run_management_command(t.pk)
    assert report is not None
    assert not LaunchReport.objects.filter(pk=report.pk).exists()


def test_last_lines_the_database_refuses_do_not_keep_the_run_going(task, monkeypatch, caplog):
    """The end writes the run's last lines with it; if the database refuses them (not a
    blip: those are tried again), the run still ends, without them, and the log says so."""
    t = task(LIVE, "--limit=3,--sleep=0")
    real_insert, real_write = run_lifecycle.insert_locked, run_lifecycle.write_together
    refused = []

    def refuse_the_last_lines(report_id, first_line, lines):
        if not refused:
            refused.append(len(lines.levels))
            raise DataError("value too long for type character varying(10)")
        real_insert(report_id, first_line, lines)

    def refuse_writing_them_with_the_end(using, writes):
        # On PostgreSQL a few last lines go in the same statement as the end.
        inserts = [w for w in writes if w is not None and w.sql.startswith("INSERT")]
        if inserts and not refused:
            refused.append(inserts[0].sql.count("(%s, %s, %s, %s, %s)"))
            raise DataError("value too long for type character varying(10)")
        return real_write(using, writes)

    monkeypatch.setattr(run_lifecycle, "insert_locked", refuse_the_last_lines)
    monkeypatch.setattr(run_lifecycle, "write_together", refuse_writing_them_with_the_end)
    report = start(t)
    assert refused and refused[0] > 0
    assert (report.state, report.invocation_result) == ("finished", "ok")
    assert LaunchReport.objects.get(pk=report.pk).n_log_lines == report.logs.count()
    assert f"log lines of report {report.pk} could not be stored" in caplog.text


def test_immediate_backend_cannot_schedule(task):
    t = task(LIVE, scheduling=timezone.now() + timedelta(hours=1))
    with pytest.raises(TaskNotRunnable, match="cannot schedule"):
        get_task_service().add(t)
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert not t.launchreport_set.exists()


def test_immediate_backend_cannot_stop(task):
    t = task(LIVE)
    report = LaunchReport.objects.create(task=t)
    with pytest.raises(Exception, match="cannot stop"):
        get_task_service().stop(report)


NOTIFY = {
    "BACKEND": "immediate",
    "NOTIFIERS": {
        "failures": {"BACKEND": "locmem", "LEVEL": "failed"},
        "everything": {"BACKEND": "locmem", "LEVEL": "ok"},
        "broken": {"BACKEND": "tests.test_runner.BrokenNotifier", "LEVEL": "ok"},
    },
    "REPORT_LOG_TAIL_LINES": 2,
    "BASE_URL": "https://tm.example.com/",
}


class BrokenNotifier(locmem.LocmemNotifier):
    def emit(self, report):
        raise RuntimeError("SMTP server on fire")


@override_settings(EZTASKMANAGER=NOTIFY)
def test_notifications_by_level_and_a_broken_notifier(task, caplog):
    locmem.outbox.clear()
    ok = start(task(LIVE, "--limit=3,--sleep=0"))
    failed = start(task("test_failing_command"))
    assert [n.result for n in locmem.outbox] == ["ok", "failed", "failed"]
    note = locmem.outbox[-1]
    assert note.task_name == failed.task.name
    assert note.subject == f"[FAILED] {failed.task.name}"
    assert len(note.log_tail) == 2
    assert note.url is None  # no log viewer URLs in this project
    assert "Result: FAILED" in note.text
    assert ok.invocation_result == "ok" and failed.invocation_result == "failed"
    assert "SMTP server on fire" in caplog.text
