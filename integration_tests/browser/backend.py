"""A queue backend for the browser tests: each run is a real child process.

The ``immediate`` backend would run the task inside the request that pressed Start, so
the page could not watch it live; here Start returns at once, the run writes its lines to
the shared test database from its own process, and Stop terminates that process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import ClassVar

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.services.queues import TaskQueueService

ROOT = Path(__file__).resolve().parents[2]


class SubprocessBackend(TaskQueueService):
    """Start ``integration_tests.browser.runner`` per run; stop it with SIGTERM."""

    supports_stop = True
    processes: ClassVar[dict[str, subprocess.Popen]] = {}

    def enqueue(self, task: Task) -> None:
        job_id = uuid.uuid4().hex
        env = {**os.environ, "EZTASKMANAGER_USE_TEST_DB": "1"}
        # The run's console output goes to a file kept for debugging a failed test.
        with tempfile.NamedTemporaryFile(prefix="eztm-run-", suffix=".log", delete=False) as log:
            self.processes[job_id] = subprocess.Popen(
                [sys.executable, "-m", "integration_tests.browser.runner", str(task.pk), job_id],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop_execution(self, report: LaunchReport) -> None:
        process = self.processes.pop(report.job_id, None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    @classmethod
    def stop_all(cls) -> None:
        """Leave no run behind when a test ends."""
        for job_id, process in list(cls.processes.items()):
            if process.poll() is None:
                process.kill()
            process.wait()
            cls.processes.pop(job_id, None)
