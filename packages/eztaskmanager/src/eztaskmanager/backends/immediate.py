"""The ``immediate`` backend: runs a task in the calling process, right away.

For tests (the project's and its users') and for trying the admin without a queue:
"Start" blocks until the command ends. It cannot schedule nor stop a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eztaskmanager.services.queues import TaskQueueService
from eztaskmanager.services.runner import run_management_command

if TYPE_CHECKING:
    from eztaskmanager.models import Task


class ImmediateBackend(TaskQueueService):
    """Run each task synchronously in the process that starts it."""

    supports_schedule = False
    supports_stop = False

    def enqueue(self, task: Task, job_id: str) -> None:
        run_management_command(task.pk, job_id)
