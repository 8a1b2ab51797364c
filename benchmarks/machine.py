"""What ran the benchmarks: CPUs and load, Python, Django, PostgreSQL and Redis versions.

Ratios compare across machines, times do not: the table says where its times come from.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

LIBRARIES = ["Django", "psycopg", "redis", "rq", "django-rq", "celery"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> str:
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def postgres_version() -> str:
    """The server's version, or why there is none."""
    try:
        import psycopg

        from benchmarks.setup_django import LIBPQ

        with psycopg.connect(dbname="postgres", connect_timeout=5, **LIBPQ) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # any failure is only a line of the header
        return f"not reachable ({type(exc).__name__})"


def redis_version() -> str:
    """The version of the Redis the benchmarks use: ``REDIS_URL``'s, else the server they start."""
    try:
        if os.environ.get("REDIS_URL"):
            from redis import Redis

            return Redis.from_url(os.environ["REDIS_URL"]).info("server")["redis_version"]
        from testsupport.redis import redis_server_binary

        text = subprocess.run(
            [redis_server_binary(), "--version"], capture_output=True, text=True, check=True
        ).stdout
        return next(part[2:] for part in text.split() if part.startswith("v="))
    except Exception as exc:  # any failure is only a line of the header
        return f"unknown ({type(exc).__name__})"


def describe(databases: list[str], quick: bool) -> list[str]:
    """Markdown lines saying when, on what and how the benchmarks ran."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return [
        f"- run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{'--quick' if quick else 'full size'}, databases: {', '.join(databases)}",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), load average {load} at the start, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"{library_versions()}",
        f"- PostgreSQL {postgres_version()}; Redis {redis_version()}",
    ]
