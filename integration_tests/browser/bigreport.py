"""Fill a report with a million log lines in one SQL statement (browser test and benchmark)."""

from __future__ import annotations

from django.db import connection

from eztaskmanager.models import LaunchReport, Log

LEVEL_SQL = (
    "CASE WHEN g %% 100 = 99 THEN 'ERROR' WHEN g %% 20 = 19 THEN 'WARNING' "
    "WHEN g %% 5 = 0 THEN 'INFO' ELSE 'DEBUG' END"
)


def fill_report(report: LaunchReport, n_lines: int) -> None:
    """Append ``n_lines`` generated lines (1 % errors, 4 % warnings) and set the counters."""
    table = connection.ops.quote_name(Log._meta.db_table)
    columns = "launch_report_id, line, timestamp, level, message"
    message = "'Processing record ' || g || ' of the nightly import'"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, g, "
                f"TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * INTERVAL '1 millisecond', "
                f"{LEVEL_SQL}, {message} FROM generate_series(0, %s - 1) AS g",
                [report.pk, n_lines],
            )
        else:
            cursor.execute(
                "WITH RECURSIVE seq(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM seq WHERE g + 1 < %s) "
                f"INSERT INTO {table} ({columns}) SELECT %s, g, "
                f"datetime('2026-01-01 00:00:00', '+' || (g / 1000) || ' seconds'), "
                f"{LEVEL_SQL}, {message} FROM seq",
                [n_lines, report.pk],
            )
    errors = n_lines // 100
    warnings = n_lines // 20 - n_lines // 100
    LaunchReport.objects.filter(pk=report.pk).update(
        n_log_lines=n_lines, n_log_errors=errors, n_log_warnings=warnings
    )
