"""Write two lines naming this run, then tell the benchmark that it is done."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from redis import Redis

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class Command(BaseCommand):
    help = (
        "Print a line and log one, each naming TOKEN; then push TOKEN to the Redis list DONE_KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", help="what names this run in its lines")
        parser.add_argument("done_key", help="Redis list that receives the token at the end")

    def handle(self, *args: Any, **options: Any) -> None:
        token = options["token"]
        print(f"memprobe {token} print")
        logger.info("memprobe %s log", token)
        with Redis.from_url(settings.REDIS_URL) as redis:
            redis.rpush(options["done_key"], token)
