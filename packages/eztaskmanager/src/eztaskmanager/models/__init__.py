"""The task manager's models: commands, tasks, their runs (reports) and log lines.

Split by concern; everything is importable from ``eztaskmanager.models`` as before.
"""

from eztaskmanager.models.artifacts import Artifact
from eztaskmanager.models.audit import AuditEvent
from eztaskmanager.models.commands import AppCommand, TaskCategory
from eztaskmanager.models.logs import Log, write_log_rows
from eztaskmanager.models.processes import ProcessHeartbeat
from eztaskmanager.models.reports import LaunchReport, LaunchReportQuerySet, RunBlocked
from eztaskmanager.models.schedules import FiredDueTime
from eztaskmanager.models.tasks import ARGUMENTS_HELP, MAX_TIMEOUT, Task
from eztaskmanager.models.tokens import ApiToken

__all__ = [
    "ARGUMENTS_HELP",
    "MAX_TIMEOUT",
    "ApiToken",
    "AppCommand",
    "Artifact",
    "AuditEvent",
    "FiredDueTime",
    "LaunchReport",
    "LaunchReportQuerySet",
    "Log",
    "ProcessHeartbeat",
    "RunBlocked",
    "Task",
    "TaskCategory",
    "write_log_rows",
]
