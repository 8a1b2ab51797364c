"""System checks of whole projects, each in a fresh ``manage.py check`` process.

A project's settings decide what is imported and when; a check that crashes or stays
silent only shows when nothing was imported before it, so each case is a real process
on its own settings module.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testsupport.settings import FRESH_PROJECT, settings_source

ADMIN_INSTALLED = importlib.util.find_spec("eztaskmanager_admin") is not None
CONTRIB = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
CORE_ONLY = ["django.contrib.auth", "django.contrib.contenttypes", "eztaskmanager"]
IMMEDIATE = {"BACKEND": "immediate"}
SEED_URLS = """
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("eztaskmanager/", include("eztaskmanager.urls")),
]
"""
ADMIN_ONLY_URLS = """
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
"""


def manage_check(directory: Path, settings: dict, urls: str = "urlpatterns = []\n") -> str:
    """Run ``manage.py check`` on a project made of ``settings`` and ``urls``; its output."""
    project = {**FRESH_PROJECT, "ROOT_URLCONF": "project_urls", **settings}
    (directory / "project_settings.py").write_text(settings_source(project))
    (directory / "project_urls.py").write_text(textwrap.dedent(urls))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
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
    assert "Traceback" not in output, output  # a check error, never a crash
    return output


@pytest.mark.skipif(not ADMIN_INSTALLED, reason="the seed's include needs the admin package")
def test_a_project_set_up_as_the_seed_documents_is_told_to_add_the_admin_app(tmp_path):
    output = manage_check(
        tmp_path,
        {
            "INSTALLED_APPS": [*CONTRIB, "eztaskmanager"],
            "EZTASKMANAGER_QUEUE_SERVICE_TYPE": "immediate",
        },
        SEED_URLS,
    )
    assert "(eztaskmanager.W002)" in output
    assert "no Commands and Tasks sections" in output
    assert "log viewer pages that the URLconf includes fail to render" in output
    assert 'add "eztaskmanager_admin" to INSTALLED_APPS' in output  # the hint


def test_an_admin_without_the_eztaskmanager_admin_app_is_warned(tmp_path):
    output = manage_check(
        tmp_path,
        {"INSTALLED_APPS": [*CONTRIB, "eztaskmanager"], "EZTASKMANAGER": IMMEDIATE},
        ADMIN_ONLY_URLS,
    )
    assert "(eztaskmanager.W002)" in output
    assert "URLconf" not in output.split("(eztaskmanager.W002)")[1].split("HINT")[0]
    if not ADMIN_INSTALLED:
        assert 'pip install "django-eztaskmanager[admin]"' in output


@pytest.mark.skipif(not ADMIN_INSTALLED, reason="needs the admin package")
def test_no_warning_once_the_admin_app_is_installed(tmp_path):
    output = manage_check(
        tmp_path,
        {
            "INSTALLED_APPS": [*CONTRIB, "eztaskmanager", "eztaskmanager_admin"],
            "EZTASKMANAGER": IMMEDIATE,
        },
        SEED_URLS,
    )
    assert "System check identified no issues" in output


def test_no_warning_for_a_project_without_any_admin(tmp_path):
    """Tasks run from code only (no admin, no log viewer): nothing to warn about."""
    output = manage_check(tmp_path, {"INSTALLED_APPS": CORE_ONLY, "EZTASKMANAGER": IMMEDIATE})
    assert "System check identified no issues" in output


@pytest.mark.parametrize(
    "apps",
    [
        ["eztaskmanager_email"],
        ["eztaskmanager_slack"],
        ["eztaskmanager_email", "eztaskmanager_slack"],
    ],
)
def test_notifier_packages_in_installed_apps_and_configured(tmp_path, apps):
    for app in apps:
        if importlib.util.find_spec(app) is None:
            pytest.skip(f"{app} is not installed here")
    notifiers = {
        "mail": {"BACKEND": "email", "OPTIONS": {"recipients": ["ops@example.com"]}},
        "chat": {"BACKEND": "slack", "OPTIONS": {"token": "xoxb-1", "channel": "#ops"}},
    }
    both = apps == ["eztaskmanager_email", "eztaskmanager_slack"]
    output = manage_check(
        tmp_path,
        {
            "INSTALLED_APPS": [*CORE_ONLY, *apps],
            "EZTASKMANAGER": {**IMMEDIATE, "NOTIFIERS": notifiers if both else {}},
        },
    )
    assert "System check identified no issues" in output


def test_a_wrong_backend_is_a_check_error_in_a_fresh_process(tmp_path):
    output = manage_check(
        tmp_path, {"INSTALLED_APPS": CORE_ONLY, "EZTASKMANAGER": {"BACKEND": "carrier-pigeon"}}
    )
    assert "(eztaskmanager.E001)" in output and "carrier-pigeon" in output
