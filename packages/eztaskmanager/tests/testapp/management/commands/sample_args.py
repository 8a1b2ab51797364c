"""A command with typed, required and multi-valued options, for argument validation tests."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Echo its arguments"

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*")
        parser.add_argument("--limit", type=int, default=10)
        parser.add_argument("--title", default="")
        parser.add_argument("-f", "--force", action="store_true")
        parser.add_argument("--secondarg", nargs="+", default=[])
        parser.add_argument("--mode", choices=["fast", "slow"], default="fast")

    def handle(self, *args, **options):
        self.stdout.write(
            f"names={options['names']} limit={options['limit']} title={options['title']!r} "
            f"force={options['force']} secondarg={options['secondarg']} mode={options['mode']}"
        )
