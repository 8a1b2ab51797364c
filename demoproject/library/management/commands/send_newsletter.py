"""A plain Django command, untouched: eztaskmanager stores what it writes to stdout and
what it prints."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Pretend to send the newsletter to the library's readers"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--readers", type=int, default=3, help="How many readers")
        parser.add_argument(
            "--mail-password", default="", help="The mail server's password (a secret argument)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        print(f"Preparing the newsletter for {options['readers']} readers")
        if options["mail_password"]:
            # Careless on purpose: the task manager masks a secret argument in the log.
            self.stdout.write(f"Signed in to the mail server with {options['mail_password']}")
        for reader in range(1, options["readers"] + 1):
            self.stdout.write(f"Newsletter sent to reader {reader}")
        self.stdout.write(self.style.SUCCESS("Newsletter sent"))
