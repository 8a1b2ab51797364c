"""Start real worker/scheduler processes for integration tests, and stop them cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class ManagedProcess:
    """A child process whose output goes to a file the test can read and show on failure."""

    def __init__(
        self, args: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None
    ):
        self.args = list(args)
        self.log_path = Path(tempfile.mkstemp(prefix="eztm-proc-", suffix=".log")[1])
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.args,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @classmethod
    def manage(cls, *args: str, env: dict[str, str] | None = None) -> ManagedProcess:
        """Run ``django-admin <args>`` with the current settings (DJANGO_SETTINGS_MODULE)."""
        return cls([sys.executable, "-m", "django", *args], env=env)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_output(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if not self.alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen from {self.args}; output:\n{self.output[-4000:]}")

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM the process group, then SIGKILL what is left; return the exit code."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode


def child_pids(pid: int) -> list[int]:
    """The processes that process ``pid`` started and that are still there (Linux's /proc)."""
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something true, and return that.

    On time-out, fail saying ``what`` was awaited, followed by ``explain()`` (typically the
    last lines of the worker processes' output).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    details = f"\n{explain()}" if explain else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{details}")
