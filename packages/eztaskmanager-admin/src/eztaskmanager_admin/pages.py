"""The names of the admin's pages, derived from the models as Django names its own.

Django names a model's admin pages ``<app label>_<model name>_<page>``
(``eztaskmanager_task_change``); the pages this package adds follow the same rule
(``eztaskmanager_task_start``, ``eztaskmanager_launchreport_log_viewer``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.urls import get_script_prefix, get_urlconf, reverse

# An object id no real row has, replaced in a page's reversed URL by the row's own.
PLACEHOLDER = "9223372036854775807"


def page_name(model: type[Model], page: str) -> str:
    """The URL name of ``page`` of ``model`` in an admin site, e.g. ``eztaskmanager_task_start``."""
    opts = model._meta
    return f"{opts.app_label}_{opts.model_name}_{page}"


def page_url(admin_site_name: str, model: type[Model], page: str, *args: Any) -> str:
    """The URL of ``page`` of ``model`` in the admin site named ``admin_site_name``.

    A page of one object is reversed once, then filled in: lists link every row to a few
    pages, and a ``reverse()`` costs more than the rest of a link.
    """
    name = f"{admin_site_name}:{page_name(model, page)}"
    if len(args) == 1 and type(args[0]) is int:
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        return _url_template(urlconf, get_script_prefix(), name).replace(PLACEHOLDER, str(args[0]))
    return reverse(name, args=args)


@lru_cache(maxsize=256)
def _url_template(urlconf: str, script_prefix: str, name: str) -> str:
    """The URL of ``name`` for the placeholder object id (the URL depends on these alone)."""
    return reverse(name, urlconf=urlconf, args=[int(PLACEHOLDER)])
