"""Task arguments: the seed's text syntax, turned into an argv list and checked by argparse.

``-f, --secondarg param1 param2, --thirdarg=pippo`` separates arguments with commas and
values inside one argument with spaces; both end up as separate argv items, exactly as a
shell would pass them, but no shell is ever involved. Quotes keep a value whole:
``--title="Hello, world"``.
"""

from __future__ import annotations

import argparse
import shlex
from typing import IO, Any

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


def arguments_for_display(text: str | None) -> list[str]:
    """The argv items of ``text`` to show; text that cannot be split is shown whole."""
    try:
        return split_arguments(text)
    except InvalidArguments:
        return [text or ""]


def load_command(app_name: str, name: str) -> BaseCommand:
    """Return an instance of the management command ``name`` defined in app ``app_name``."""
    try:
        return load_command_class(app_name, name)
    except (ImportError, AttributeError) as exc:
        raise InvalidArguments(
            _("The command %(name)s of %(app)s cannot be loaded: %(error)s")
            % {"name": name, "app": app_name, "error": exc}
        ) from exc


def _silence(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` (and its sub-parsers) print nothing.

    ``--help`` and ``--version`` print before they exit; checking a task's arguments in
    a web request must not write the command's help on the server's standard output.
    The parser instance is patched, not ``sys.stdout``: other threads keep printing.
    """

    def print_nothing(message: str, file: IO[str] | None = None) -> None:
        return None

    parser._print_message = print_nothing  # type: ignore[method-assign]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _silence(subparser)


def parse_arguments(command: BaseCommand, name: str, argv: list[str]) -> dict[str, Any]:
    """Parse ``argv`` with the command's own parser; return the options it sets.

    Only the options that differ from the parser's defaults are returned, so that the
    result says what the task asks for rather than everything the command accepts. The
    parser prints nothing, whatever ``argv`` asks for (``--help``, ``--version``).
    """
    parser = command.create_parser("manage.py", name)
    _silence(parser)
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
