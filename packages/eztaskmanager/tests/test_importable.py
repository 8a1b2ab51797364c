"""Every package and module imports: in a bare interpreter, or once Django is set up.

Each import runs in a fresh interpreter, without ``DJANGO_SETTINGS_MODULE``, so nothing
imported earlier (by pytest-django, by another test) can hide a problem: a tool reading
``__version__``, a docs build or a package listed in ``INSTALLED_APPS`` imports a package
before Django is ready. A module that defines or needs models may only need Django set
up; it must then import in a fresh interpreter after ``django.setup()``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testsupport.settings import FRESH_PROJECT, settings_source

PACKAGES = [
    "eztaskmanager",
    "eztaskmanager_rq",
    "eztaskmanager_celery",
    "eztaskmanager_admin",
    "eztaskmanager_email",
    "eztaskmanager_slack",
]
INSTALLED = [name for name in PACKAGES if importlib.util.find_spec(name) is not None]

# What must import with Django not set up at all: every package (and so its version), its
# app config and checks, the settings, registry and pure modules of the core, the seed's
# import paths of the service and notifier base classes and what they stand on (a backend
# package imports them at its top), and the notifier packages whole.
BARE = {
    *INSTALLED,
    *(f"{name}.__about__" for name in INSTALLED),
    *(f"{name}.apps" for name in INSTALLED),
    "eztaskmanager.checks",
    "eztaskmanager.conf",
    "eztaskmanager.registry",
    "eztaskmanager.exceptions",
    "eztaskmanager.arguments",
    "eztaskmanager.scheduling",
    "eztaskmanager.validators",
    "eztaskmanager.signals",
    "eztaskmanager.services",
    "eztaskmanager.services.notifications",
    "eztaskmanager.services.queues",
    "eztaskmanager.services.engine",
    "eztaskmanager.services.liveness",
    "eztaskmanager.options",
    "eztaskmanager.notifiers.locmem",
}
# An import that fails for want of Django's settings or app registry says one of these.
NOT_SET_UP = ("settings are not configured", "Apps aren't loaded yet")

# Imports each module named on stdin in a child forked from this bare interpreter (or from
# one that only ran ``django.setup()``): as good as a fresh interpreter per module, since the
# parent imported none of ours, and a fork costs milliseconds where a start costs 0.3 s.
# The parent loads the third-party libraries first (none of them reads Django's settings
# when imported), so that each child pays only for our own module.
IMPORT_EACH = textwrap.dedent(
    """
    import importlib, json, os, sys
    for library in ("django.db.models", "django.core.checks", "celery", "kombu", "redis", "rq",
                    "slack_sdk"):
        try:
            importlib.import_module(library)
        except ImportError:
            pass
    if sys.argv[1] == "setup":
        import django
        django.setup()
    for name in sys.stdin.read().split():
        read, write = os.pipe()
        if os.fork() == 0:
            os.close(read)
            try:
                module = importlib.import_module(name)
            except BaseException as exc:
                outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            else:
                outcome = {"ok": True, "version": getattr(module, "__version__", None)}
            os.write(write, json.dumps(outcome).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            outcome = pipe.read() or '{"ok": false, "error": "the import crashed"}'
        os.wait()
        print(json.dumps({"module": name, **json.loads(outcome)}))
    """
)


def modules_of(package: str) -> list[str]:
    """Every module of ``package``, found on disk (importing them to list them would not do)."""
    root = Path(importlib.util.find_spec(package).origin).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def settings_module(directory: Path) -> str:
    """A settings module that installs every installed package, written into ``directory``."""
    apps = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
    ]
    if "eztaskmanager_rq" in INSTALLED:
        apps.append("django_rq")
    apps += INSTALLED
    settings = {
        **FRESH_PROJECT,
        "INSTALLED_APPS": apps,
        "RQ_QUEUES": {"default": {"URL": "redis://127.0.0.1:1/0"}},
        "EZTASKMANAGER": {"BACKEND": "immediate"},
    }
    (directory / "all_apps_settings.py").write_text(settings_source(settings))
    return "all_apps_settings"


def bare_env(extra_path: Path | None = None, settings: str | None = None) -> dict[str, str]:
    """This interpreter's environment without any Django settings (unless ``settings``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return env


def import_each(modules: list[str], env: dict[str, str], mode: str) -> dict[str, dict]:
    """Import each module in a pristine process (see :data:`IMPORT_EACH`); outcome by name."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, mode],
        input="\n".join(modules),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = {}
    for line in result.stdout.splitlines():
        outcome = json.loads(line)
        outcomes[outcome.pop("module")] = outcome
    assert set(outcomes) == set(modules), result.stderr[-3000:]
    return outcomes


def test_every_package_imports_and_tells_its_version_without_django_set_up():
    for package, outcome in import_each(INSTALLED, bare_env(), "bare").items():
        assert outcome["ok"], (package, outcome["error"])
        assert outcome["version"], package


def test_every_module_imports_bare_or_once_django_is_set_up(tmp_path):
    settings = settings_module(tmp_path)
    modules = [module for package in INSTALLED for module in modules_of(package)]
    assert len(modules) > 50  # the walk found the packages' modules
    bare = import_each(modules, bare_env(), "bare")
    needing_django = [module for module, outcome in bare.items() if not outcome["ok"]]
    set_up = import_each(needing_django, bare_env(tmp_path, settings), "setup")
    problems = {}
    for module in needing_django:
        error = bare[module]["error"]
        if module in BARE:
            problems[module] = f"must import without Django set up: {error}"
        elif not any(reason in error for reason in NOT_SET_UP):
            problems[module] = f"fails bare for another reason than Django not set up: {error}"
        elif not set_up[module]["ok"]:
            problems[module] = f"fails once Django is set up: {set_up[module]['error']}"
    assert problems == {}


@pytest.mark.parametrize("package", [name for name in INSTALLED if name != "eztaskmanager"])
def test_each_package_is_harmless_in_installed_apps(tmp_path, package):
    """Listed in INSTALLED_APPS (a common habit, needed or not), a package lets Django start."""
    apps = ["django.contrib.auth", "django.contrib.contenttypes", "eztaskmanager", package]
    if package == "eztaskmanager_admin":
        apps[:0] = ["django.contrib.admin", "django.contrib.sessions", "django.contrib.messages"]
    settings = {**FRESH_PROJECT, "INSTALLED_APPS": apps, "EZTASKMANAGER": {"BACKEND": "immediate"}}
    (tmp_path / "one_app_settings.py").write_text(settings_source(settings))
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--fail-level", "ERROR"],
        env=bare_env(tmp_path, "one_app_settings"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
