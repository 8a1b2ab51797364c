"""Record, as its very first step, the time at which this command starts running."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from redis import Redis


class Command(BaseCommand):
    help = "Push the time this command started to a Redis list (for latency measurements)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="Redis list that receives the start time")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.time()
        Redis.from_url(settings.CELERY_BROKER_URL).rpush(options["key"], repr(started))
