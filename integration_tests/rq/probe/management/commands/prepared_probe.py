"""Print how many statements the run's PostgreSQL session holds prepared, and on which tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Print the prepared statements of the run's PostgreSQL session."

    def handle(self, *args: Any, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
            statements = [row[0] for row in cursor.fetchall()]
        self.stdout.write(f"prepared {len(statements)}")
        for statement in statements:
            self.stdout.write(statement)
