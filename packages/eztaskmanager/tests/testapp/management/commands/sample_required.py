"""A command with a required option: call_command must receive it as an argv string."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Needs --target"

    def add_arguments(self, parser):
        parser.add_argument("--target", required=True)

    def handle(self, *args, **options):
        self.stdout.write(f"target={options['target']}")
