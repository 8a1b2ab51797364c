"""What a project upgraded from django-eztaskmanager 0.5 relies on (issue 18).

The database migrations from 0.5's schema, ``Log.objects.create()``, ``log_tail()`` read
as text, the seed's default backend, the check of saved arguments and the
``eztaskmanager.admin`` module without the admin package. The whole upgrade, from a
database that 0.5.3 itself filled, is ``integration_tests/upgrade``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from eztaskmanager import checks, conf, registry
from eztaskmanager.models import AppCommand, LaunchReport, Log, Task, TaskCategory, write_log_rows
from eztaskmanager.models.logs import LogTail, RunEndedError

OLD = [("eztaskmanager", "0003_alter_task_cached_next_ride_alter_task_scheduling")]
UPGRADE_FILL = importlib.import_module("eztaskmanager.migrations.0005_from_0_5_fill")


# Migrations ---------------------------------------------------------------------------------
def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def old_schema(transactional_db):
    """The database as 0.5 left it (its migrations 0001-0003); today's again afterwards."""
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes("eztaskmanager")
    try:
        yield migrate(OLD)
    finally:
        migrate(leaf)


def fill_as_0_5(apps):
    """Rows as 0.5 wrote them: NULLs, duplicate names, unnumbered and uncounted lines."""
    AppCommand = apps.get_model("eztaskmanager", "AppCommand")
    TaskCategory = apps.get_model("eztaskmanager", "TaskCategory")
    Task = apps.get_model("eztaskmanager", "Task")
    LaunchReport = apps.get_model("eztaskmanager", "LaunchReport")
    Log = apps.get_model("eztaskmanager", "Log")
    first = AppCommand.objects.create(name="test_livelogging_command", app_name="eztaskmanager")
    twin = AppCommand.objects.create(name="test_livelogging_command", app_name="eztaskmanager")
    AppCommand.objects.filter(pk=first.pk).update(active=False)
    imports = TaskCategory.objects.create(name="Imports")
    imports_again = TaskCategory.objects.create(name="Imports")
    ran = Task.objects.create(name="ran", command=first, arguments="--limit=2", category=imports)
    never = Task.objects.create(
        name="never", command=twin, arguments="", category=imports_again, note=None
    )
    scheduled = Task.objects.create(
        name="scheduled",
        command=twin,
        status="scheduled",
        scheduled_job_id="0a1b2c",
        scheduling=timezone.now() + timedelta(days=1),
        repetition_period="day",
        repetition_rate=1,
    )
    Task.objects.filter(pk=ran.pk).update(status="started")  # 0.5 died during a run
    done = LaunchReport.objects.create(task=ran, invocation_result="warnings")
    cut = LaunchReport.objects.create(task=ran, invocation_result="")
    start = timezone.now() - timedelta(hours=1)
    # Inserted out of order: the lines are numbered by time, then id.
    for seconds, level, message in [
        (3, "ERROR", "third"),
        (1, "INFO", "first"),
        (2, "WARNING", "second"),
        (4, "CRITICAL", "fourth"),
    ]:
        log = Log.objects.create(launch_report=done, level=level, message=message)
        Log.objects.filter(pk=log.pk).update(timestamp=start + timedelta(seconds=seconds))
    Log.objects.create(launch_report=cut, level="INFO", message="Starting")
    empty = LaunchReport.objects.create(task=scheduled, invocation_result="ok")
    return {
        "empty": empty.pk,
        "first": first.pk,
        "twin": twin.pk,
        "ran": ran.pk,
        "never": never.pk,
        "scheduled": scheduled.pk,
        "done": done.pk,
        "cut": cut.pk,
        "last_line_at": start + timedelta(seconds=4),
    }


@pytest.mark.django_db(transaction=True)
def test_a_0_5_database_migrates_and_its_rows_are_filled(old_schema):
    old = fill_as_0_5(old_schema)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("eztaskmanager"))

    (command,) = AppCommand.objects.all()  # duplicates merged, active if either was
    assert command.pk == old["first"] and command.active
    assert sorted(TaskCategory.objects.values_list("name", flat=True)) == [
        "Imports",
        "Imports (2)",
    ]
    ran, never, scheduled = (Task.objects.get(pk=old[n]) for n in ("ran", "never", "scheduled"))
    assert {ran.command_id, never.command_id, scheduled.command_id} == {command.pk}
    assert never.note == "" and never.scheduled_job_id == "" and never.cached_last_report is None
    assert never.cached_last_invocation_n_errors == 0 and never.cached_last_invocation_result == ""
    assert (ran.status, scheduled.status) == ("idle", "scheduled")
    assert scheduled.scheduled_job_id == "0a1b2c"
    assert ran.cached_last_report_id == old["cut"]

    done = LaunchReport.objects.get(pk=old["done"])
    assert (done.state, done.invocation_result, done.reason) == ("finished", "warnings", "")
    assert (done.n_log_lines, done.n_log_errors, done.n_log_warnings) == (4, 2, 1)
    assert done.finished_at == old["last_line_at"]
    assert list(done.logs.values_list("line", "message")) == [
        (0, "first"),
        (1, "second"),
        (2, "third"),
        (3, "fourth"),
    ]
    assert done.read_log_lines(2)[0][0].endswith(" - ERROR - third")
    cut = LaunchReport.objects.get(pk=old["cut"])
    assert cut.state == "finished" and cut.invocation_result == ""
    assert "did not record how it ended" in cut.reason
    assert cut.finished_at == cut.logs.get().timestamp
    empty = LaunchReport.objects.get(pk=old["empty"])
    assert (empty.state, empty.n_log_lines) == ("finished", 0)
    assert empty.finished_at == empty.invocation_datetime
    # New lines go after the old ones (on a run that has not ended).
    LaunchReport.objects.filter(pk=cut.pk).update(state="running")
    assert write_log_rows(cut.pk, [(time.time(), "INFO", "after the upgrade")])
    assert cut.logs.get(line=1).message == "after the upgrade"


@pytest.mark.django_db(transaction=True)
def test_lines_are_numbered_without_window_functions(old_schema):
    """The fallback for databases without ``UPDATE ... FROM`` gives the same numbers."""
    old = fill_as_0_5(old_schema)
    apps = migrate([("eztaskmanager", "0004_from_0_5_new_fields")])

    class Editor:
        class connection:
            vendor = "other"

    UPGRADE_FILL.number_log_lines(apps, Editor())
    Log = apps.get_model("eztaskmanager", "Log")
    assert list(
        Log.objects.filter(launch_report_id=old["done"]).order_by("line").values_list("message")
    ) == [("first",), ("second",), ("third",), ("fourth",)]


# Log lines saved through the ORM ------------------------------------------------------------
@pytest.fixture
def running(task):
    report = LaunchReport.objects.create(task=task("test_livelogging_command"), state="running")
    write_log_rows(report.pk, [(time.time(), "INFO", "from the runner")])
    return report


@pytest.mark.django_db
def test_log_objects_create_takes_the_next_line_and_counts(running):
    created = Log.objects.create(launch_report=running, level="ERROR", message="from 0.5 code")
    Log(launch_report_id=running.pk, level="WARNING", message="saved").save()
    running.refresh_from_db()
    assert created.pk and created.line == 1 and created.timestamp is not None
    assert (running.n_log_lines, running.n_log_errors, running.n_log_warnings) == (3, 1, 1)
    assert [line.split(" - ", 2)[2] for line in running.get_log_lines()] == [
        "from the runner",
        "from 0.5 code",
        "saved",
    ]
    write_log_rows(running.pk, [(time.time(), "INFO", "runner again")])
    assert running.logs.get(line=3).message == "runner again"


@pytest.mark.django_db
def test_log_objects_create_on_a_finished_run_writes_nothing(running):
    running.finish(LaunchReport.RESULT_OK)
    running.refresh_from_db()
    lines = running.n_log_lines
    with pytest.raises(RunEndedError, match="has ended"):
        Log.objects.create(launch_report=running, level="INFO", message="too late")
    running.refresh_from_db()
    assert running.n_log_lines == lines == running.logs.count()


# log_tail() reads as text ------------------------------------------------------------------
@pytest.mark.django_db
def test_log_tail_is_a_list_that_reads_as_0_5_text(running):
    write_log_rows(running.pk, [(time.time(), "INFO", f"line {n}") for n in range(1, 5)])
    running.refresh_from_db()
    tail = running.log_tail(2)
    assert isinstance(tail, list) and len(tail) == 2 and tail[-1].endswith(" - INFO - line 4")
    text = f"{tail}"
    assert text.splitlines()[0] == "3 lines hidden ..."
    assert text.splitlines()[1:] == list(tail) and "[" not in text
    assert "<pre>" + tail == f"<pre>{text}" and tail + "\n" == f"{text}\n"
    assert str(running.log_tail(10)).splitlines() == running.get_log_lines()
    # 0.5's line format: local time to the second, with the zone's abbreviation.
    stamp = tail[0].split(" - ")[0]
    assert len(stamp.split()) == 3 and stamp.split()[2] in ("CET", "CEST")
    assert str(LogTail()) == ""


# The seed's default backend -----------------------------------------------------------------
def test_flat_settings_without_a_backend_run_on_rq():
    with override_settings(EZTASKMANAGER=None, EZTASKMANAGER_N_LINES_IN_REPORT_LOG=5):
        assert conf.get_config()["BACKEND"] == "rq"
        assert conf.backend_choice() == "seed"
        assert "eztaskmanager.W001" not in [m.id for m in checks.check_settings()]
    with override_settings(EZTASKMANAGER={"NOTIFIERS": {}}):
        assert conf.get_config()["BACKEND"] == "immediate"
        assert conf.backend_choice() == "default"
    with override_settings(
        EZTASKMANAGER={"BACKEND": "immediate"}, EZTASKMANAGER_N_LINES_IN_REPORT_LOG=5
    ):
        assert conf.get_config()["BACKEND"] == "immediate"
        assert conf.backend_choice() == "configured"
    with override_settings(EZTASKMANAGER=None, EZTASKMANAGER_QUEUE_SERVICE_TYPE="Immediate"):
        assert conf.get_config()["BACKEND"] == "immediate"


def test_flat_settings_without_rq_installed_is_an_error_naming_the_settings(monkeypatch):
    real = registry.entry_points

    def without_rq(**kwargs):
        return [] if kwargs.get("name") == "rq" else real(**kwargs)

    monkeypatch.setattr(registry, "entry_points", without_rq)
    with override_settings(EZTASKMANAGER=None, EZTASKMANAGER_BASE_URL="https://x.example"):
        (message,) = [m for m in checks.check_settings() if m.id.startswith("eztaskmanager.")]
    assert message.id == "eztaskmanager.E001"
    assert "flat EZTASKMANAGER_* settings" in message.msg
    assert 'pip install "django-eztaskmanager[rq]"' in message.msg
    assert "EZTASKMANAGER_QUEUE_SERVICE_TYPE" in message.hint


# Saved arguments that no longer parse -------------------------------------------------------
@pytest.mark.django_db
def test_check_lists_saved_tasks_whose_arguments_no_longer_parse(task, command):
    task("test_livelogging_command", "--limit=5")
    spaced = task("test_livelogging_command", "--limit 5 6")
    gone = task("test_command", "", app_name="eztaskmanager")  # a command 0.5 had
    assert checks.check_saved_arguments(databases=None) == []
    messages = run_checks(databases=["default"], tags=["database"])
    warnings = [m for m in messages if m.id == "eztaskmanager.W003"]
    assert [m.msg.split("(id ")[1].split(")")[0] for m in warnings] == [
        str(spaced.pk),
        str(gone.pk),
    ]
    assert "unrecognized arguments: 6" in warnings[0].msg
    assert "--limit 5 6" in warnings[0].msg and '--title="Hello world"' in warnings[0].hint
    assert "cannot be loaded" in warnings[1].msg


@pytest.mark.django_db(transaction=True)
def test_argument_check_waits_for_the_migrations(old_schema):
    """``migrate`` runs database checks before migrating: 0.5's tables are left alone."""
    assert checks.check_saved_arguments(databases=["default"]) == []


# eztaskmanager.admin without the admin package ----------------------------------------------
def test_core_admin_module_registers_nothing_without_the_admin_app():
    import eztaskmanager.admin as shim

    assert "eztaskmanager_admin.admin" not in sys.modules  # nothing imported, nothing registered
    with pytest.raises(ImportError, match='add "eztaskmanager_admin" to INSTALLED_APPS'):
        from eztaskmanager.admin import TaskAdmin  # noqa: F401
    with pytest.raises(AttributeError):
        shim.NoSuchAdmin  # noqa: B018


def test_core_admin_module_names_the_extra_when_the_package_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "eztaskmanager_admin" else real(name, *a),
    )
    with pytest.raises(ImportError, match=r'pip install "django-eztaskmanager\[admin\]"'):
        from eztaskmanager.admin import LaunchReportAdmin  # noqa: F401
