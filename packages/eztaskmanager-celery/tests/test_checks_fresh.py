"""The Celery backend's checks in fresh ``manage.py check`` processes: errors, not crashes.

A project that selects the Celery backend but forgot ``eztaskmanager_celery`` in
INSTALLED_APPS once crashed ``manage.py check`` (a model of the package imported outside
its app); it gets the check error that names the fix. Each case is a real process, so
nothing imported earlier by the test run can hide it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"
BASE_SETTINGS = """
SECRET_KEY = "checks-test"
USE_TZ = True
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CELERY_BROKER_URL = "memory://"
"""
CELERY_APP = """
from celery import Celery

app = Celery("fresh_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
"""


def manage_check(directory: Path, settings: str) -> tuple[int, str]:
    """``manage.py check`` of a project with ``settings`` and a Celery app as Celery's guide
    shows it (``project_celery.app``); its exit code and output."""
    (directory / "project_settings.py").write_text(BASE_SETTINGS + textwrap.dedent(settings))
    (directory / "project_celery.py").write_text(CELERY_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env["DJANGO_SETTINGS_MODULE"] = "project_settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output  # a check message, never a crash
    return result.returncode, output


@pytest.mark.parametrize(
    "backend_setting",
    [
        'EZTASKMANAGER = {"BACKEND": "celery", "OPTIONS": {"app": "project_celery:app"}}',
        'EZTASKMANAGER_QUEUE_SERVICE_TYPE = "Celery"',  # the seed's flat setting
    ],
)
def test_the_celery_backend_without_its_app_is_a_check_error(tmp_path, backend_setting):
    code, output = manage_check(
        tmp_path,
        f"""
        INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "eztaskmanager"]
        {backend_setting}
        """,
    )
    assert code == 1
    assert "(eztaskmanager_celery.E001)" in output
    assert 'Add "eztaskmanager_celery" to INSTALLED_APPS' in output


def test_a_plain_celery_beat_is_warned_about(tmp_path):
    code, output = manage_check(
        tmp_path,
        """
        INSTALLED_APPS = [
            "django.contrib.auth", "django.contrib.contenttypes",
            "eztaskmanager", "eztaskmanager_celery",
        ]
        EZTASKMANAGER = {"BACKEND": "celery", "OPTIONS": {"app": "project_celery:app"}}
        """,
    )
    assert code == 0
    assert "(eztaskmanager_celery.W003)" in output
    assert f'CELERY_BEAT_SCHEDULER = "{SCHEDULER}"' in output  # the hint
    assert "E001" not in output


def test_our_beat_scheduler_set_up_has_no_message(tmp_path):
    code, output = manage_check(
        tmp_path,
        f"""
        INSTALLED_APPS = [
            "django.contrib.auth", "django.contrib.contenttypes",
            "eztaskmanager", "eztaskmanager_celery",
        ]
        EZTASKMANAGER = {{"BACKEND": "celery", "OPTIONS": {{"app": "project_celery:app"}}}}
        CELERY_BEAT_SCHEDULER = "{SCHEDULER}"
        """,
    )
    assert code == 0
    assert "eztaskmanager_celery." not in output, output
