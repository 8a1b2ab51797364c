"""A queue backend for the browser tests: each run is a real child process.

The ``immediate`` backend would run the task inside the request that pressed Start, so
the page could not watch it live; here Start returns at once (the run is *queued* until
its process has started it), the run writes its lines to the shared test database from
its own process, and Stop is the core's cooperative one: the run's helper thread sees
the stop request within a second and ends the command, as on an engine that cannot kill.
Schedules are booked in memory: the tests look at what the admin shows of a booked
schedule; nothing fires it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

from eztaskmanager.models import Task
from eztaskmanager.services.queues import JobInfo, JobState, TaskQueueService

ROOT = Path(__file__).resolve().parents[2]


class SubprocessBackend(TaskQueueService):
    """Start ``integration_tests.browser.runner`` per run, as job ``job_id``."""

    supports_stop = True
    supports_schedule = True
    processes: ClassVar[dict[str, subprocess.Popen]] = {}
    schedules: ClassVar[dict[str, object]] = {}

    def schedule(self, task: Task) -> None:
        self.schedules[task.scheduled_job_id] = task.next_run_after()

    def unschedule(self, task: Task) -> None:
        self.schedules.pop(task.scheduled_job_id, None)

    def enqueue(self, task: Task, job_id: str) -> None:
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

    def job_state(self, job_id: str) -> JobInfo:
        """What the process of the job says: running, or ended with its exit code."""
        process = self.processes.get(job_id)
        if process is None:
            return JobInfo(JobState.UNKNOWN)  # another test process's job, maybe
        code = process.poll()
        if code is None:
            return JobInfo(JobState.RUNNING)
        return JobInfo(JobState.ENDED, f"exited with {code}")

    @classmethod
    def stop_all(cls) -> None:
        """Leave no run behind when a test ends."""
        for job_id, process in list(cls.processes.items()):
            if process.poll() is None:
                process.kill()
            process.wait()
            cls.processes.pop(job_id, None)
