"""Print when this run's database session started, and its server process (PostgreSQL)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Print the start time and server pid of the run's PostgreSQL session."

    def handle(self, *args: Any, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_backend_pid(), backend_start FROM pg_stat_activity"
                " WHERE pid = pg_backend_pid()"
            )
            pid, started = cursor.fetchone()
        self.stdout.write(f"session {pid} started {started.isoformat()}")
