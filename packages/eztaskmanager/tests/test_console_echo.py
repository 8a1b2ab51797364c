"""A LoggerEnabledCommand prints its records to the console only when that is wanted."""

import logging
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.test import override_settings

from eztaskmanager.checks import check_settings
from eztaskmanager.services import run_management_command

pytestmark = pytest.mark.django_db

COMMAND = "test_livelogging_command"
LOGGER = f"eztaskmanager.commands.{COMMAND}"


@contextmanager
def bare_root_logger():
    """No handler on the root logger (pytest puts its own there), as in a worker or a shell."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = []
    try:
        yield
    finally:
        root.handlers[:] = saved


def shell_run():
    with bare_root_logger():
        call_command(COMMAND, limit=2, trace_steps=1, sleep=0)


def printed(capsys) -> str:
    return capsys.readouterr().err


def run_task(task):
    owner = task(COMMAND, "--limit=2,--trace-steps=1,--sleep=0")
    with bare_root_logger():
        report = run_management_command(owner.pk)
    return list(report.logs.order_by("line").values_list("message", flat=True))


def test_from_a_shell_the_records_are_printed(capsys):
    shell_run()
    assert "INFO - 2/2" in printed(capsys)
    assert logging.getLogger(LOGGER).handlers == []  # the console handler was for this run


def test_under_the_runner_they_are_stored_not_printed(task, capsys):
    assert run_task(task) == ["Start", "1/2", "2/2", "Finished"]
    assert "2/2" not in printed(capsys)


@override_settings(EZTASKMANAGER={"BACKEND": "immediate", "LOG_TO_CONSOLE": True})
def test_log_to_console_true_prints_them_under_the_runner_too(task, capsys):
    assert run_task(task) == ["Start", "1/2", "2/2", "Finished"]
    assert "INFO - 2/2" in printed(capsys)


@override_settings(EZTASKMANAGER={"BACKEND": "immediate", "LOG_TO_CONSOLE": False})
def test_log_to_console_false_keeps_a_shell_quiet(capsys):
    shell_run()
    assert "2/2" not in printed(capsys)


def test_a_handler_of_the_project_is_not_doubled(capsys):
    project = logging.StreamHandler()
    with bare_root_logger():
        logging.getLogger().addHandler(project)
        call_command(COMMAND, limit=2, trace_steps=1, sleep=0)
    assert printed(capsys).count("2/2") == 1


@pytest.mark.parametrize(
    ("value", "errors"), [(None, []), (True, []), (False, []), ("no", ["E007"])]
)
def test_log_to_console_is_checked(value, errors):
    setting = {"BACKEND": "immediate", "LOG_TO_CONSOLE": value}
    with override_settings(EZTASKMANAGER=setting):
        ids = [m.id.rsplit(".", 1)[-1] for m in check_settings() if m.level >= logging.ERROR]
    assert ids == errors
