"""Start the demo's processes, show their output with a name in front, and stop them all.

Each child runs in a session of its own, so that Ctrl-C in the terminal reaches only the
demo script, which then stops the children in order (web first, Redis last), each with
its whole process group: RQ's work horses and Celery's pool processes go with their
parent. A child that does not stop within the grace period is killed.

A child that exits by itself while the demo runs is started again after a pause that
doubles with each quick exit (1 s, 2 s, 4 s ... at most 30 s): ``rqscheduler`` exits when
Redis goes away, a worker may be killed, and a supervisor would restart them too.

Every line goes to the terminal through :func:`say`, whole, under one lock: the output
of several children and the demo's own lines never mix within a line.
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

# Pauses before a restart: the first, the longest, and how long a child must have run
# for its next exit to start again from the first pause.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STEADY_AFTER = 60.0

_output_lock = threading.Lock()


def say(text: str) -> None:
    """Print ``text`` (one or more lines) in one write, never inside another line."""
    with _output_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


class Child:
    """One named process of the demo, whose output lines are printed as ``name | line``."""

    def __init__(
        self, name: str, args: Sequence[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        self.name = name
        self.args = list(args)
        self.started_at = time.monotonic()
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
            say(f"{self.name:>12} | {raw.decode(errors='replace').rstrip()}")

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, grace: float) -> int:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; return the code."""
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop in {grace:.0f} s: killed")
            self.process.kill()
            self.process.wait()
        self.clean_up()
        return self.process.returncode

    def clean_up(self) -> None:
        """Kill what the child left behind in its group (a work horse mid-job)."""
        self.signal_group(signal.SIGKILL)
        self._reader.join(timeout=2)


class Restart:
    """When a child that exited starts again, and the pause after its next exit."""

    def __init__(self) -> None:
        self.backoff = FIRST_BACKOFF
        self.count = 0
        self.due: float | None = None

    def schedule(self, child: Child, now: float) -> float:
        """Plan the restart of ``child``, which has just exited; return the pause."""
        if now - child.started_at >= STEADY_AFTER:
            self.backoff = FIRST_BACKOFF  # it ran fine for a while: not a crash loop
        pause = self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF)
        self.due = now + pause
        return pause


class ChildGroup:
    """The demo's children, stopped in the reverse order of their start."""

    def __init__(self, env: dict[str, str], cwd: Path | None = None) -> None:
        self.env = env
        self.cwd = cwd
        self.children: list[Child] = []
        self.restarts: dict[str, Restart] = {}

    def start(self, name: str, args: Sequence[str]) -> Child:
        child = Child(name, args, self.env, self.cwd)
        self.children.append(child)
        self.restarts[name] = Restart()
        say(f"Started {name} (pid {child.pid}): {' '.join(args)}")
        return child

    def manage(self, name: str, *args: str) -> Child:
        """Start ``python manage.py <args>`` in the project folder."""
        return self.start(name, [sys.executable, "manage.py", *args])

    def supervise(self, now: float | None = None) -> None:
        """Start again, after their pause, the children that have exited by themselves."""
        now = time.monotonic() if now is None else now
        for index, child in enumerate(self.children):
            if child.alive():
                continue
            restart = self.restarts[child.name]
            if restart.due is None:
                child.clean_up()
                pause = restart.schedule(child, now)
                say(
                    f"{child.name} (pid {child.pid}) exited with {child.process.returncode}; "
                    f"restarting it in {pause:.0f} s"
                )
            elif now >= restart.due:
                restart.due = None
                restart.count += 1
                fresh = Child(child.name, child.args, self.env, self.cwd)
                self.children[index] = fresh
                say(
                    f"Restarted {child.name} (pid {fresh.pid}, restart {restart.count}): "
                    f"{' '.join(child.args)}"
                )

    def stop_all(self, grace: float = 10) -> None:
        for child in reversed(self.children):
            started = time.monotonic()
            code = child.stop(grace)
            say(
                f"Stopped {child.name} (pid {child.pid}, exit {code}) "
                f"in {time.monotonic() - started:.1f} s"
            )
        self.children.clear()
