"""Sphinx configuration of the django-eztaskmanager documentation.

Build with ``hatch run docs:build`` (warnings are errors). Pages are MyST Markdown; the
reference is generated from the packages' docstrings, so Django is set up first with a
settings module that installs every package (``docs/docs_settings.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS), str(DOCS / "_ext")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_settings")
django.setup()

from eztaskmanager.__about__ import __version__  # noqa: E402

project = "django-eztaskmanager"
author = "django-eztaskmanager developers"
copyright = "2024-2026, django-eztaskmanager developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "djangodocs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Django's own classes are documented on docs.djangoproject.com, not here.
autodoc_inherit_docstrings = False

html_theme = "furo"
html_title = f"django-eztaskmanager {release}"
# Screenshots of the admin live in _static/screenshots (taken by the browser tests).
html_static_path = ["_static"] if (DOCS / "_static").is_dir() else []
html_theme_options = {
    "source_repository": "https://github.com/openpolis/django-eztaskmanager/",
    "source_branch": "main",
    "source_directory": "docs/",
}
