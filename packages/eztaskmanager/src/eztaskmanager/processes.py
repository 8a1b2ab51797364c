"""Who runs a task: the identity of this process, and whether another process is gone.

A run records the process it runs in (``worker``, ``pid`` and a ``host_key``). The
host key names the machine's boot and the process's PID namespace, so that a process
on the same host (and in the same container) can tell at once that a run's process no
longer exists, rather than waiting for its heartbeat to grow stale. Elsewhere the
key differs and only the heartbeat tells. The run also records its parent process (the
worker that forked it), which knows best how it ended while it lives.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ProcessInfo:
    """This process, as a run records it."""

    worker: str
    pid: int
    host_key: str
    parent_pid: int | None = None


@cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            return boot.read().strip()
    except OSError:
        return ""


def host_key() -> str:
    """The key of this machine's boot and PID namespace; empty where it cannot be known."""
    boot = _boot_id()
    if not boot:
        return ""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{socket.gethostname()}/{boot}/{namespace}"


def this_process(worker: str = "") -> ProcessInfo:
    """This process; ``worker`` names it as its queue engine does (default: host:pid)."""
    return _described(os.getpid(), worker, os.getppid() or None)


def forked_process(pid: int, worker: str = "") -> ProcessInfo:
    """The process ``pid`` this one has just forked, as it would describe itself."""
    return _described(pid, worker, os.getpid())


def _described(pid: int, worker: str, parent_pid: int | None) -> ProcessInfo:
    label = worker or socket.gethostname()
    return ProcessInfo(
        worker=f"{label} (pid {pid})", pid=pid, host_key=host_key(), parent_pid=parent_pid
    )


def _state(key: str, pid: int | None) -> str:
    """The state of ``pid`` on this host ("R", "S", ... "Z"), "gone", or "" if unknown."""
    if not key or not pid or key != host_key():
        return ""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The state follows the parenthesised command name.
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
    except (OSError, IndexError):
        return ""


# The states of a process that has ended: a zombie ("Z") has, its parent has not
# collected its exit status yet.
ENDED = frozenset({"gone", "Z", "X"})


def process_is_gone(key: str, pid: int | None) -> bool:
    """True only when ``pid`` is known not to run any more on this very host and namespace."""
    return _state(key, pid) in ENDED


def process_is_alive(key: str, pid: int | None) -> bool:
    """True only when ``pid`` is known to run on this very host and namespace."""
    state = _state(key, pid)
    return bool(state) and state not in ENDED
