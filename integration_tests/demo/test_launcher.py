"""The demo launcher's children: whole output lines, and restarts with a growing pause."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demoproject"))

from launcher import children
from launcher.children import ChildGroup, say

pytestmark = pytest.mark.integration


def test_lines_from_many_threads_never_mix(capsys):
    def talk(name: str) -> None:
        for i in range(300):
            say(f"{name} line {i}")

    threads = [threading.Thread(target=talk, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1200
    assert all(line.split(" line ")[1].isdigit() for line in lines)


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_child_that_exits_is_restarted_after_a_pause_that_grows(capsys, monkeypatch):
    monkeypatch.setattr(children, "FIRST_BACKOFF", 0.1)
    group = ChildGroup(env={"PATH": "/usr/bin:/bin"})
    group.start("quitter", [sys.executable, "-c", "print('hello'); raise SystemExit(3)"])
    try:
        first = group.children[0]
        wait_for(lambda: not first.alive())
        start = time.monotonic()
        group.supervise(start)  # notices the exit
        group.supervise(start + 0.05)  # still pausing
        assert group.children[0] is first
        group.supervise(start + 0.11)
        second = group.children[0]
        assert second is not first
        wait_for(lambda: not second.alive())
        group.supervise(start + 0.2)
        out = capsys.readouterr().out
        assert f"quitter (pid {first.pid}) exited with 3; restarting it in 0 s" in out
        assert f"Restarted quitter (pid {second.pid}, restart 1): " in out
        assert "    quitter | hello" in out
        # The second quick exit pauses twice as long; a child that ran a while starts afresh.
        assert group.restarts["quitter"].due == pytest.approx(start + 0.2 + 0.2)
        restart = group.restarts["quitter"]
        second.started_at -= children.STEADY_AFTER
        assert restart.schedule(second, time.monotonic()) == 0.1
    finally:
        group.stop_all(grace=2)
    assert group.children == []
