"""Sphinx helpers that keep the reference true to the code.

- ``django-command``: a directive that shows a management command's real ``--help``.
- A check that ``reference/settings.md`` names every key of ``EZTASKMANAGER`` and every
  flat setting that ``eztaskmanager.conf`` reads, and that ``reference/checks.md`` lists
  every system check id found in the packages' sources: something added to the code and
  not to the page fails the build (warnings are errors).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

SETTINGS_PAGE = "reference/settings"
CHECKS_PAGE = "reference/checks"
PACKAGES = Path(__file__).resolve().parents[2] / "packages"
CHECK_ID = re.compile(r"""id=["'](eztaskmanager\w*\.[EW]\d{3})["']""")


class DjangoCommandDirective(SphinxDirective):
    """``{django-command} name``: the ``manage.py name --help`` text, as a literal block."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from django.core.management import get_commands, load_command_class

        name = self.arguments[0]
        app_name = get_commands().get(name)
        if app_name is None:
            raise self.error(f"no management command {name!r} in the docs settings' apps")
        command = load_command_class(app_name, name)
        os.environ["COLUMNS"] = "88"
        text = command.create_parser("manage.py", name).format_help().rstrip()
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def check_settings_page(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != SETTINGS_PAGE:
        return
    from eztaskmanager import conf

    for key in [*conf.DEFAULTS, *conf.FLAT_SETTINGS]:
        if f"`{key}`" not in source[0]:
            logger.warning(
                "%s does not document the setting %s (eztaskmanager/conf.py has it)",
                SETTINGS_PAGE,
                key,
                location=docname,
            )


def check_checks_page(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != CHECKS_PAGE:
        return
    found = {
        (check_id, path.relative_to(PACKAGES))
        for path in PACKAGES.glob("*/src/**/*.py")
        for check_id in CHECK_ID.findall(path.read_text())
    }
    for check_id, path in sorted(found):
        if f"`{check_id}`" not in source[0]:
            logger.warning(
                "%s does not list the system check %s (packages/%s has it)",
                CHECKS_PAGE,
                check_id,
                path,
                location=docname,
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("django-command", DjangoCommandDirective)
    app.connect("source-read", check_settings_page)
    app.connect("source-read", check_checks_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
