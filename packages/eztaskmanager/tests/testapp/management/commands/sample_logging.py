"""A plain command logging through a module logger (not LoggerEnabledCommand)."""

import logging

from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Log a warning and an error through the module logger"

    def handle(self, *args, **options):
        logger.warning("module warning")
        logger.error("module error")
