"""The real processes of the RQ end-to-end tests: a Redis server, workers and schedulers.

The fault tests kill and restart them, so this suite always starts its own Redis (even
when ``REDIS_URL`` is set): it must be able to restart it empty on the same port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from eztaskmanager.models import LaunchReport
from eztaskmanager.processes import host_key
from testsupport.net import free_port
from testsupport.processes import ManagedProcess
from testsupport.redis import start_redis_server

ROOT = Path(__file__).resolve().parents[2]
WORKER_CLASS = "eztaskmanager_rq.worker.Worker"


class RedisServer:
    """A ``redis-server`` without persistence on a fixed port, that can crash and restart empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = tempfile.TemporaryDirectory(prefix="eztm-rq-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_redis_server(self.port, self.workdir.name)

    def crash(self) -> None:
        """End the server as a crash would: SIGKILL, nothing saved."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart_empty(self) -> None:
        self.crash()
        self.start()

    def stop(self) -> None:
        self.crash()
        self.workdir.cleanup()


class Cluster:
    """One ``rqworker`` (our worker class) and one ``rqscheduler --interval 1`` on a queue.

    Tests that kill a process call :meth:`ensure` (or the ``cluster`` fixture does) to
    start a new one, as a supervisor would.
    """

    def __init__(self, env: dict[str, str], queue: str) -> None:
        self.env = env
        self.queue = queue
        self.worker: ManagedProcess | None = None
        self.scheduler: ManagedProcess | None = None
        self.extra: list[ManagedProcess] = []
        self.finished: list[ManagedProcess] = []

    # Processes -----------------------------------------------------------------------------
    def start_worker(self, wait: bool = True) -> ManagedProcess:
        self.worker = ManagedProcess.manage(
            "rqworker", self.queue, "--worker-class", WORKER_CLASS, env=self.env
        )
        if wait:
            self.worker.wait_for_output("Listening on", timeout=60)
        return self.worker

    def start_scheduler(self, wait: bool = True) -> ManagedProcess:
        self.scheduler = self.new_scheduler(wait)
        return self.scheduler

    def new_scheduler(self, wait: bool = True) -> ManagedProcess:
        scheduler = ManagedProcess.manage(
            "rqscheduler", "--queue", self.queue, "--interval", "1", env=self.env
        )
        if wait:
            scheduler.wait_for_output("Registering birth", timeout=60)
        return scheduler

    def ensure(self) -> None:
        """Start a new worker or scheduler in place of one that is gone."""
        if self.worker is None or not self.worker.alive():
            self._retire(self.worker)
            self.start_worker()
        if self.scheduler is None or not self.scheduler.alive():
            self._retire(self.scheduler)
            self.start_scheduler()

    def stop_worker(self) -> None:
        """Stop the worker (the next test's ``cluster`` fixture starts a new one)."""
        if self.worker is not None:
            self._retire(self.worker)
            self.worker = None

    def stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self._retire(self.scheduler)
            self.scheduler = None

    def _retire(self, process: ManagedProcess | None) -> None:
        if process is not None:
            if process.alive():
                process.stop()
            self.finished.append(process)

    def stop(self) -> None:
        for process in [self.scheduler, self.worker, *self.extra]:
            if process is not None:
                process.stop()
        kill_work_horses()

    def output(self) -> str:
        parts = []
        for name, process in (("worker", self.worker), ("scheduler", self.scheduler)):
            if process is not None:
                parts.append(f"--- {name} {process.args[2:]}:\n{process.output[-2500:]}")
        return "\n".join(parts)

    # A supervisor, for the tests that take Redis away -------------------------------------------
    def supervised(self) -> Supervisor:
        return Supervisor(self)


class Supervisor:
    """Restarts what exits while the block runs, as systemd's ``Restart=always`` would."""

    def __init__(self, cluster: Cluster, every: float = 0.5) -> None:
        self.cluster = cluster
        self.every = every
        self.restarts: list[tuple[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            for name in ("worker", "scheduler"):
                process = getattr(self.cluster, name)
                if process is not None and not process.alive():
                    self.cluster._retire(process)
                    getattr(self.cluster, f"start_{name}")(wait=False)
                    self.restarts.append((name, time.monotonic()))


def kill_work_horses() -> None:
    """SIGKILL the work-horses of runs that have not ended (an orphan outlives its worker)."""
    for pid in (
        LaunchReport.objects.active().filter(host_key=host_key()).values_list("pid", flat=True)
    ):
        if pid and pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def record_fault(name: str, seconds: float, note: str = "") -> str:
    """Print, and append to test-output/faults-rq-<db>.txt, how long a fault took to end."""
    db = os.environ.get("EZTASKMANAGER_TEST_DB", "sqlite")
    line = f"FAULT {name}: final after {seconds:.2f} s" + (f" ({note})" if note else "")
    print(f"\n{line}", flush=True)
    output = ROOT / "test-output"
    output.mkdir(exist_ok=True)
    with (output / f"faults-rq-{db}.txt").open("a") as file:
        file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
    return line


def client_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets process ``pid`` holds (Linux ``/proc``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
