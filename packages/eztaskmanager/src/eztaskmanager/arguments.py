"""Task arguments: the seed's text syntax, turned into an argv list and checked by argparse.

``-f, --secondarg param1 param2, --thirdarg=pippo`` separates arguments with commas and
values inside one argument with spaces; both end up as separate argv items, exactly as a
shell would pass them, but no shell is ever involved. Quotes keep a value whole:
``--title="Hello, world"``.
"""

from __future__ import annotations

import shlex
from typing import Any

from django.core.management import load_command_class
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class InvalidArguments(ValueError):
    """The arguments text cannot be split, or the command's parser rejects it."""


def split_arguments(text: str | None) -> list[str]:
    """Split the arguments text into argv items; raise :class:`InvalidArguments` if unbalanced."""
    if not text or not text.strip():
        return []
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace += ","
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise InvalidArguments(_("Cannot read the arguments: %(error)s.") % {"error": exc}) from exc


def load_command(app_name: str, name: str) -> BaseCommand:
    """Return an instance of the management command ``name`` defined in app ``app_name``."""
    try:
        return load_command_class(app_name, name)
    except (ImportError, AttributeError) as exc:
        raise InvalidArguments(
            _("The command %(name)s of %(app)s cannot be loaded: %(error)s")
            % {"name": name, "app": app_name, "error": exc}
        ) from exc


def parse_arguments(command: BaseCommand, name: str, argv: list[str]) -> dict[str, Any]:
    """Parse ``argv`` with the command's own parser; return the options it sets.

    Only the options that differ from the parser's defaults are returned, so that the
    result says what the task asks for rather than everything the command accepts.
    """
    parser = command.create_parser("manage.py", name)
    try:
        namespace = parser.parse_args(argv)
    except CommandError as exc:
        raise InvalidArguments(str(exc).removeprefix("Error: ")) from exc
    except SystemExit as exc:  # a parser action such as --help or --version exits
        raise InvalidArguments(
            _("%(args)s would stop the command before it runs.") % {"args": " ".join(argv)}
        ) from exc
    return {
        dest: value for dest, value in vars(namespace).items() if parser.get_default(dest) != value
    }
