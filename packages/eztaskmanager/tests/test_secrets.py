"""Secret arguments: passed to the command after the others, never written where people read."""

import logging

import pytest
from django.test import override_settings

from eztaskmanager.arguments import InvalidArguments
from eztaskmanager.notifiers import locmem
from eztaskmanager.services.logger import DatabaseLogHandler
from eztaskmanager.services.queues import get_task_service

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value"


def run(task):
    report = get_task_service().add(task)
    report.refresh_from_db()
    return report


def test_secret_arguments_reach_the_command_after_the_public_ones(task):
    t = task("test_stdout_command", "--with-stderr", secret_arguments="--lines=4")
    report = run(t)
    assert report.invocation_result == "warnings"  # the stderr line
    lines = report.get_log_lines()
    assert sum("to stdout" in line for line in lines) == 4
    # The report keeps what it ran with, without the secrets.
    assert report.arguments == "--with-stderr"


@override_settings(
    EZTASKMANAGER={
        "BACKEND": "immediate",
        "NOTIFIERS": {"all": {"BACKEND": "locmem", "LEVEL": "ok"}},
        "REPORT_LOG_TAIL_LINES": 50,
    }
)
def test_a_failure_that_quotes_a_secret_shows_it_masked(task):
    locmem.outbox.clear()
    # Saved without clean(): the command's parser refuses the value only when it runs.
    t = task("test_stdout_command", "", secret_arguments=f"--lines={SECRET}")
    report = run(t)
    assert report.invocation_result == "failed"
    text = "\n".join(report.get_log_lines())
    assert "invalid int value" in text
    assert SECRET not in text and "***" in text
    note = locmem.outbox[-1]
    assert SECRET not in note.text and "***" in note.text


def test_what_a_run_logs_reaches_its_log_with_the_secrets_masked(task):
    """The run's handler masks every line: a command that prints its options shows ***."""
    t = task("test_stdout_command", "", secret_arguments=f"--token={SECRET}")
    report = t.launchreport_set.create(state="running", **t.run_snapshot())
    handler = DatabaseLogHandler(report.pk, mask=t.mask_secrets)
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    try:
        logger.warning("options: {'token': '%s'}", SECRET)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert report.get_log_lines()[0].endswith("options: {'token': '***'}")


def test_the_parser_check_includes_the_secrets_and_masks_them(task):
    t = task("test_stdout_command", "", secret_arguments=f"--lines={SECRET}")
    with pytest.raises(InvalidArguments) as raised:
        t.check_arguments("--with-stderr")
    assert SECRET not in str(raised.value) and "***" in str(raised.value)
    t.secret_arguments = "--lines=2"
    assert t.check_arguments("--with-stderr") == ["--with-stderr"]


@pytest.mark.parametrize(
    ("secrets", "text", "masked"),
    [
        ("--token=abc123", "token abc123 refused", "token *** refused"),
        ("--token abc123", "--token abc123", "--token ***"),
        ("positional-secret", "got positional-secret", "got ***"),
        ("--flag", "--flag set", "--flag set"),
        ("", "nothing abc123", "nothing abc123"),
    ],
)
def test_mask_secrets_hides_values_not_option_names(task, secrets, text, masked):
    t = task("test_stdout_command", "", secret_arguments=secrets)
    assert t.mask_secrets(text) == masked
