"""Write the way plain scripts do: print(), sys.stderr, self.stdout and logging."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "print() a line, write one to sys.stderr, one to self.stdout and log one."

    def handle(self, *args: Any, **options: Any) -> None:
        logger.setLevel(logging.INFO)
        print("printed to stdout")
        self.stdout.write("written to self.stdout")
        print("printed to stderr", file=sys.stderr)
        logger.info("logged at INFO")
        print("printed", "in", "pieces", flush=True)
