"""What a command prints reaches its report on a real RQ worker, as on every backend."""

from __future__ import annotations

import pytest

from eztaskmanager.models import LaunchReport

from .conftest import run_probe_command

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXPECTED = [
    ("INFO", "printed to stdout"),
    ("INFO", "written to self.stdout"),
    ("WARNING", "printed to stderr"),
    ("INFO", "logged at INFO"),
    ("INFO", "printed in pieces"),
]


def test_print_self_stdout_stderr_and_logging_land_in_the_report(backend, worker):
    report = run_probe_command(backend, worker, "print_probe")
    lines = list(report.logs.order_by("line").values_list("level", "message"))
    assert lines == EXPECTED
    assert report.invocation_result == LaunchReport.RESULT_WARNINGS  # the one stderr line
    assert "printed to stdout" not in worker.output  # in the log, not the worker's terminal
