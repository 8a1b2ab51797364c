"""A database that django-eztaskmanager 0.5.3, from the package index, created and used.

The session's database is not created by pytest-django: 0.5.3 creates it. Its release
is installed with pip into a virtualenv of its own (built once per test run, in the
temporary folder, and shared by the SQLite and PostgreSQL runs), which migrates the
database, runs tasks on an RQ worker and books a schedule in Redis
(``project/seed_053.py``). Then this process migrates that database with these packages,
as ``manage.py migrate`` would, and the tests use it as the upgraded project does. They
run in order and share it: no test runs in a transaction that is rolled back.

Anything missing (no network for pip, no Python venv, no Redis) fails the suite, saying
what; nothing is skipped.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from testsupport.redis import running_redis

OLD_RELEASE = "django-eztaskmanager[django]==0.5.3"
OLD_REQUIREMENTS = [OLD_RELEASE, "psycopg[binary]>=3.1"]
PROJECT = Path(__file__).resolve().parent / "project"
# The Redis database the upgrade test uses: 0.5.3 always uses RQ's queue "default".
REDIS_DB = 13


def run_id() -> str:
    """The id of this test run (``scripts/run_tests.py`` names the databases after it)."""
    name = os.environ.get("EZTASKMANAGER_TEST_DB_NAME", "")
    match = re.search(r"_(\d+)$", name)
    return match.group(1) if match else str(os.getpid())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _build_venv(folder: Path) -> Path:
    python = folder / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(folder)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", *OLD_REQUIREMENTS],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.fail(
                f"Cannot build the virtualenv of django-eztaskmanager 0.5.3 (the upgrade test "
                f"needs it, from the package index): {' '.join(step)} exited with "
                f"{result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
                pytrace=False,
            )
    return python


@pytest.fixture(scope="session")
def old_python() -> Path:
    """The Python of a virtualenv with django-eztaskmanager 0.5.3, built once per test run.

    Folders left by earlier runs whose process is gone are removed.
    """
    base = Path(tempfile.gettempdir())
    for stale in base.glob("eztm-upgrade-053-*"):
        pid = stale.name.removeprefix("eztm-upgrade-053-").removesuffix(".lock")
        if pid.isdigit() and pid != run_id() and not _pid_alive(int(pid)):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
    folder = base / f"eztm-upgrade-053-{run_id()}"
    with open(base / f"eztm-upgrade-053-{run_id()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = folder / "bin" / "python"
        if not (folder / "ready").exists():
            shutil.rmtree(folder, ignore_errors=True)
            python = _build_venv(folder)
            (folder / "ready").write_text(" ".join(OLD_REQUIREMENTS))
    return python


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis (``REDIS_URL``, else one started here), on a database of this suite's."""
    with running_redis() as url:
        yield re.sub(r"(/\d+)?$", f"/{REDIS_DB}", url, count=1)


def _database() -> tuple[str, str]:
    engine, _, name = os.environ["UPGRADE_DB"].partition(":")
    return engine, name


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        dbname=os.environ.get("PGDATABASE", "test"),
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def _drop_database() -> None:
    engine, name = _database()
    if engine == "postgres":
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        Path(name).unlink(missing_ok=True)


def old_env(redis_url: str) -> dict[str, str]:
    """The environment of 0.5.3's processes: this suite's database and Redis, nothing of ours."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_SETTINGS_MODULE="oldsite.settings",
        PYTHONPATH=str(PROJECT),
        UPGRADE_REDIS_URL=redis_url,
    )
    return env


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_blocker: Any, old_python: Path, redis_url: str
) -> Iterator[dict[str, Any]]:
    """0.5.3 creates and fills the database, then these packages migrate it.

    Yields what 0.5.3 left (its own account, printed by ``seed_053.py``) and the output of
    the ``migrate`` run here.
    """
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    _drop_database()
    engine, name = _database()
    if engine == "postgres":
        _pg_admin(f'CREATE DATABASE "{name}"')
    seeded = subprocess.run(
        [str(old_python), str(PROJECT / "seed_053.py")],
        cwd=PROJECT,
        env=old_env(redis_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if seeded.returncode != 0:
        pytest.fail(
            f"django-eztaskmanager 0.5.3 could not prepare the database:\n{seeded.stderr[-5000:]}",
            pytrace=False,
        )
    before = json.loads(seeded.stdout)
    from django.conf import settings

    settings.RQ_QUEUES["default"]["URL"] = redis_url
    os.environ["UPGRADE_REDIS_URL"] = redis_url  # for the worker processes the tests start
    output = io.StringIO()
    with django_db_blocker.unblock():
        call_command("migrate", interactive=False, stdout=output, no_color=True)
    try:
        yield {"before": before, "migrate": output.getvalue()}
    finally:
        with django_db_blocker.unblock():
            connections.close_all()
            _drop_database()


@pytest.fixture(autouse=True)
def _database_access(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Every test uses the upgraded database as it is (no rolled-back transaction)."""
    with django_db_blocker.unblock():
        yield
