"""A project's own command, written for 0.5.3 and kept as it is across the upgrade."""

from eztaskmanager.services.logger import LoggerEnabledCommand


class Command(LoggerEnabledCommand):
    help = "Import the price list (a stand-in for a project's own command)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=3)
        parser.add_argument("--bad", type=int, default=0, help="rows that only warn")
        parser.add_argument("--title", default="prices")

    def handle(self, *args, **options):
        self.logger.info("Importing %s rows of %s", options["rows"], options["title"])
        for row in range(options["rows"]):
            self.logger.info("Row %s imported", row + 1)
        for row in range(options["bad"]):
            self.logger.warning("Row %s has no price", row + 1)
        if options["bad"] > 1:
            self.logger.error("%s rows without a price", options["bad"])
        self.logger.info("Done")
