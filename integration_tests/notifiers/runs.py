"""Run real tasks through the core runner, as a worker would."""

from __future__ import annotations

import logging

from eztaskmanager.models import LaunchReport
from eztaskmanager.services.queues import get_task_service
from testsupport.tasks import make_task

FAILING = "test_failing_command"
LIVE = "test_livelogging_command"


def run(command: str, arguments: str = "", **fields) -> LaunchReport:
    """Start a task with the configured backend (``immediate``) and return its report."""
    task = make_task(command, arguments, **fields)
    get_task_service().add(task)
    report = task.launchreport_set.get()
    report.task.refresh_from_db()
    return report


def notifier_errors(caplog) -> list[str]:
    """The errors the runner logged for notifiers that could not send."""
    return [
        str(record.exc_info[1]) if record.exc_info else record.getMessage()
        for record in caplog.records
        if record.name == "eztaskmanager.services.notifications" and record.levelno >= logging.ERROR
    ]
