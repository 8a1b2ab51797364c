"""Who runs a task: the identity of this process, and whether another process is gone.

A run records the process it runs in (``worker``, ``pid`` and a ``host_key``). The
host key names the machine's boot and the process's PID namespace, so that a process
on the same host (and in the same container) can tell at once that a run's process no
longer exists, rather than waiting for its heartbeat to grow stale. Elsewhere the
key differs and only the heartbeat tells.
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
    pid = os.getpid()
    label = worker or socket.gethostname()
    return ProcessInfo(worker=f"{label} (pid {pid})", pid=pid, host_key=host_key())


def process_is_gone(key: str, pid: int | None) -> bool:
    """True only when ``pid`` is known not to run any more on this very host and namespace."""
    if not key or not pid or key != host_key():
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The state follows the parenthesised command name: "Z" is a zombie (it ended).
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")
