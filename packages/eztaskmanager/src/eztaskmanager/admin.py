"""``eztaskmanager.admin``, as django-eztaskmanager 0.5 had it: the admin classes.

They live in the admin package now (``eztaskmanager_admin.admin``, which registers the
models). ``from eztaskmanager.admin import TaskAdmin`` still works, to subclass or
register them again, when ``"eztaskmanager_admin"`` is installed; otherwise the import
fails with what to install. Django's admin autodiscovery imports this module for the
core app: it registers nothing and does not import the admin package, so that models are
registered once,
by the admin package, and only when it is installed.
"""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps

from eztaskmanager.utils import format_local_dt

# 0.5 kept this name "for backward compatibility"; so do we.
convert_to_local_dt = format_local_dt

# The names 0.5's module had that the admin package still defines.
NAMES = (
    "AppCommandAdmin",
    "LaunchReportAdmin",
    "LaunchReportInline",
    "TaskAdmin",
    "TaskCategoryAdmin",
)
__all__ = [*NAMES, "convert_to_local_dt"]


def __getattr__(name: str) -> type:
    if name not in NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    if not apps.is_installed("eztaskmanager_admin"):
        if importlib.util.find_spec("eztaskmanager_admin") is None:
            fix = 'pip install "django-eztaskmanager[admin]" and add "eztaskmanager_admin"'
        else:
            fix = 'add "eztaskmanager_admin"'
        raise ImportError(
            f"eztaskmanager.admin.{name} is in the admin package: {fix} to INSTALLED_APPS, "
            'after "eztaskmanager".'
        )
    return getattr(importlib.import_module("eztaskmanager_admin.admin"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *NAMES])
