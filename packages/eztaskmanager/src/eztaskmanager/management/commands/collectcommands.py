"""Record the project's management commands as ``AppCommand`` rows that tasks can use."""

from __future__ import annotations

from typing import Any

from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandParser

from eztaskmanager.models import AppCommand


def is_core(app_name: str) -> bool:
    """Django's own commands (``django.core``) and those of its contrib apps."""
    return app_name == "django.core" or app_name.startswith("django.")


class Command(BaseCommand):
    help = (
        "Collect the management commands of the installed apps as task commands. New ones are "
        "added inactive; existing ones, and their active flag, are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--excludecore",
            action="store_true",
            help="Leave out the commands of Django and its contrib apps.",
        )

    def handle(self, *args: Any, excludecore: bool = False, **options: Any) -> None:
        verbosity = options["verbosity"]
        available = {
            (app_name, name)
            for name, app_name in get_commands().items()
            if not (excludecore and is_core(app_name))
        }
        existing = set(AppCommand.objects.values_list("app_name", "name"))
        new = sorted(available - existing)
        AppCommand.objects.bulk_create(
            [AppCommand(app_name=app_name, name=name) for app_name, name in new]
        )
        if verbosity >= 2:
            for app_name, name in new:
                self.stdout.write(f"Added {app_name}: {name}")
            for app_name, name in sorted(existing - available):
                if not (excludecore and is_core(app_name)):
                    self.stdout.write(f"Not available any more (kept): {app_name}: {name}")
        if verbosity >= 1:
            self.stdout.write(
                f"{len(new)} command(s) added, {len(available & existing)} already known."
            )
