"""Start the demo's processes, show their output with a name in front, and stop them all.

Each child runs in a session of its own, so that Ctrl-C in the terminal reaches only the
demo script, which then stops the children in order (web first, Redis last), each with
its whole process group: RQ's work horses and Celery's pool processes go with their
parent. A child that does not stop within the grace period is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path


class Child:
    """One named process of the demo, whose output lines are printed as ``name | line``."""

    def __init__(
        self, name: str, args: Sequence[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        self.name = name
        self.args = list(args)
        self.process = subprocess.Popen(
            self.args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._copy_output, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            print(f"{self.name:>12} | {line}", flush=True)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, grace: float) -> int:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; return the code."""
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop in {grace:.0f} s: killed", flush=True)
            self.process.kill()
            self.process.wait()
        # What the child left behind in its group (a work horse mid-job) goes too.
        self.signal_group(signal.SIGKILL)
        self._reader.join(timeout=2)
        return self.process.returncode


class ChildGroup:
    """The demo's children, stopped in the reverse order of their start."""

    def __init__(self, env: dict[str, str], cwd: Path | None = None) -> None:
        self.env = env
        self.cwd = cwd
        self.children: list[Child] = []

    def start(self, name: str, args: Sequence[str]) -> Child:
        child = Child(name, args, self.env, self.cwd)
        self.children.append(child)
        print(f"Started {name} (pid {child.pid}): {' '.join(args)}", flush=True)
        return child

    def manage(self, name: str, *args: str) -> Child:
        """Start ``python manage.py <args>`` in the project folder."""
        return self.start(name, [sys.executable, "manage.py", *args])

    def dead(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((child for child in self.children if not child.alive()), None)

    def stop_all(self, grace: float = 10) -> None:
        for child in reversed(self.children):
            started = time.monotonic()
            code = child.stop(grace)
            print(
                f"Stopped {child.name} (pid {child.pid}, exit {code}) "
                f"in {time.monotonic() - started:.1f} s",
                flush=True,
            )
        self.children.clear()
