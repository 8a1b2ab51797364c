"""Settings pieces shared by the packages' test projects.

``EZTASKMANAGER_TEST_DB`` chooses the database: ``sqlite`` (default) or ``postgres``
(``PGHOST``/``PGPORT``/``PGUSER``/``PGDATABASE``, default 127.0.0.1:5432, postgres, test).
The test database's name (a file for SQLite) is chosen per run by ``scripts/run_tests.py``
(``EZTASKMANAGER_TEST_DB_NAME``), so that worker processes started by integration tests
can open the very database the test runner created (they get ``EZTASKMANAGER_USE_TEST_DB=1``
and connect straight to it) and two runs on one machine never share one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def databases(name: str) -> dict[str, dict[str, Any]]:
    """A ``DATABASES`` setting for the test project ``name`` (used to name the test database)."""
    engine = os.environ.get("EZTASKMANAGER_TEST_DB", "sqlite")
    test_name = os.environ.get("EZTASKMANAGER_TEST_DB_NAME", f"test_eztm_{name}")
    use_test_db = os.environ.get("EZTASKMANAGER_USE_TEST_DB") == "1"
    if engine == "postgres":
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "NAME": test_name if use_test_db else os.environ.get("PGDATABASE", "test"),
            "TEST": {"NAME": test_name},
        }
    elif engine == "sqlite":
        path = str(Path(tempfile.gettempdir()) / f"{test_name}.sqlite3")
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path if use_test_db else ":memory:",
            "TEST": {"NAME": path},
            # Workers and the test process write at once: take the write lock up front
            # rather than upgrading a read lock, which SQLite refuses as "locked".
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    else:
        raise ValueError(f"EZTASKMANAGER_TEST_DB must be sqlite or postgres, not {engine!r}")
    if "EZTASKMANAGER_TEST_CONN_MAX_AGE" in os.environ:  # the benchmarks' workers
        database["CONN_MAX_AGE"] = int(os.environ["EZTASKMANAGER_TEST_CONN_MAX_AGE"])
    if "EZTASKMANAGER_TEST_PREPARE_THRESHOLD" in os.environ and engine == "postgres":
        # Prepared statements (psycopg 3's option; SQLite has none).
        threshold = int(os.environ["EZTASKMANAGER_TEST_PREPARE_THRESHOLD"])
        database.setdefault("OPTIONS", {})["prepare_threshold"] = threshold
    return {"default": database}


BASE = {
    "SECRET_KEY": "tests-only-not-secret",
    "USE_TZ": True,
    "TIME_ZONE": "Europe/Rome",
    "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}


# A project with Django's admin and the eztaskmanager admin, for the suites that need one:
# ``globals().update(ADMIN_SITE)``, then add apps with ``INSTALLED_APPS = [*ADMIN_APPS, ...]``.
ADMIN_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "eztaskmanager",
    "eztaskmanager_admin",
]
ADMIN_SITE = {
    "INSTALLED_APPS": ADMIN_APPS,
    "MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ],
    "STATIC_URL": "/static/",
}


# The settings of a project checked in a Django process of its own (``manage.py check`` on
# a fresh interpreter, say): an in-memory database, and what the admin's checks ask for.
FRESH_PROJECT = {
    **BASE,
    "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    "TEMPLATES": ADMIN_SITE["TEMPLATES"],
    "MIDDLEWARE": ADMIN_SITE["MIDDLEWARE"],
}


def settings_source(settings: dict[str, Any]) -> str:
    """The text of a settings module that sets each of ``settings`` (its value's ``repr``)."""
    return "".join(f"{name} = {value!r}\n" for name, value in settings.items())
