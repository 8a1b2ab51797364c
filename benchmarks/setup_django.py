"""Configure a throw-away Django project for a benchmark, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import django
from django.conf import settings

PG = {
    "HOST": os.environ.get("PGHOST", "127.0.0.1"),
    "PORT": os.environ.get("PGPORT", "5432"),
    "USER": os.environ.get("PGUSER", "postgres"),
}
LIBPQ = {key.lower(): value for key, value in PG.items()}


@contextmanager
def django_project(database: str, apps: list[str], **extra) -> Iterator[None]:
    """Set up Django with a fresh database named for the benchmark, migrate, and drop it after."""
    # One database per process: two benchmarks on one machine never share it.
    name = f"eztm_bench_{os.getpid()}"
    if database == "postgres":
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **LIBPQ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        db = {"ENGINE": "django.db.backends.postgresql", "NAME": name, **PG}
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory()
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(tmp.name) / "bench.db")}
    settings.configure(
        DATABASES={"default": db},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", *apps],
        USE_TZ=True,
        SECRET_KEY="benchmark",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        ROOT_URLCONF=extra.pop("ROOT_URLCONF", "benchmarks.empty_urls"),
        **extra,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if database == "postgres":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **LIBPQ) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
        if tmp is not None:
            tmp.cleanup()
