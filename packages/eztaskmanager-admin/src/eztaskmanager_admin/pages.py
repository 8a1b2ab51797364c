"""The names of the admin's pages, derived from the models as Django names its own.

Django names a model's admin pages ``<app label>_<model name>_<page>``
(``eztaskmanager_task_change``); the pages this package adds follow the same rule
(``eztaskmanager_task_start``, ``eztaskmanager_launchreport_log_viewer``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.urls import reverse


def page_name(model: type[Model], page: str) -> str:
    """The URL name of ``page`` of ``model`` in an admin site, e.g. ``eztaskmanager_task_start``."""
    opts = model._meta
    return f"{opts.app_label}_{opts.model_name}_{page}"


def page_url(admin_site_name: str, model: type[Model], page: str, *args: Any) -> str:
    """The URL of ``page`` of ``model`` in the admin site named ``admin_site_name``."""
    return reverse(f"{admin_site_name}:{page_name(model, page)}", args=args)
