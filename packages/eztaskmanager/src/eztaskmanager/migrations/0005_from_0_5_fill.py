"""From django-eztaskmanager 0.5's schema towards today's, step 2 of 3: fill what 0.5's rows lack.

On a new database there is nothing to do. On one that 0.5 used:

- duplicate commands (same app and name) become one, their tasks moved onto it; a
  category whose name another one has already gets a suffix, " (2)", so names are unique;
- empty values of 0.5 (NULL) become today's ("" or 0);
- each report's lines are numbered from 0 in the order 0.5 showed them (time, then id);
- each report gets its counters (lines, errors, warnings) and an end time, the time of
  its last line (or its start when it has none): every run of 0.5 has ended;
- each task gets its last report, and a status that says whether it is scheduled.

Nothing here depends on today's models: only the historical ones and plain SQL.
"""

from django.db import migrations
from django.db.models import Count, F, Max, OuterRef, Q, Subquery

# As the core counts them (eztaskmanager.models.logs).
ERROR_LEVELS = ("ERROR", "CRITICAL")
WARNING_LEVELS = ("WARNING",)


def merge_duplicate_commands(apps):
    AppCommand = apps.get_model("eztaskmanager", "AppCommand")
    Task = apps.get_model("eztaskmanager", "Task")
    duplicates = (
        AppCommand.objects.values("app_name", "name")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by()
    )
    for duplicate in list(duplicates):
        rows = list(
            AppCommand.objects.filter(
                app_name=duplicate["app_name"], name=duplicate["name"]
            ).order_by("pk")
        )
        keep, others = rows[0], rows[1:]
        Task.objects.filter(command__in=others).update(command=keep)
        if not keep.active and any(other.active for other in others):
            AppCommand.objects.filter(pk=keep.pk).update(active=True)
        AppCommand.objects.filter(pk__in=[other.pk for other in others]).delete()


def rename_duplicate_categories(apps):
    TaskCategory = apps.get_model("eztaskmanager", "TaskCategory")
    taken = set(TaskCategory.objects.values_list("name", flat=True))
    seen = set()
    for category in TaskCategory.objects.order_by("pk"):
        if category.name not in seen:
            seen.add(category.name)
            continue
        number = 2
        while True:
            suffix = f" ({number})"
            candidate = category.name[: 255 - len(suffix)] + suffix
            if candidate not in taken:
                break
            number += 1
        TaskCategory.objects.filter(pk=category.pk).update(name=candidate)
        taken.add(candidate)
        seen.add(candidate)


def fill_task_nulls(apps):
    Task = apps.get_model("eztaskmanager", "Task")
    for name, value in (
        ("note", ""),
        ("scheduled_job_id", ""),
        ("cached_last_invocation_result", ""),
        ("cached_last_invocation_n_errors", 0),
        ("cached_last_invocation_n_warnings", 0),
    ):
        Task.objects.filter(**{name: None}).update(**{name: value})


def number_log_lines(apps, schema_editor):
    """``line`` = the line's position in its report, in one statement where the database can."""
    Log = apps.get_model("eztaskmanager", "Log")
    connection = schema_editor.connection
    window_update = connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33)
    )
    if window_update:
        quote = schema_editor.quote_name
        table = quote(Log._meta.db_table)
        pk, line, report, timestamp = (
            quote(Log._meta.get_field(name).column)
            for name in ("id", "line", "launch_report", "timestamp")
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {line} = numbered.n - 1 FROM ("
                f"SELECT {pk} AS pk, ROW_NUMBER() OVER ("
                f"PARTITION BY {report} ORDER BY {timestamp}, {pk}) AS n FROM {table}"
                f") AS numbered WHERE {table}.{pk} = numbered.pk"
            )
        return
    report_ids = Log.objects.values_list("launch_report_id", flat=True).distinct().order_by()
    for report_id in list(report_ids):
        ids = (
            Log.objects.filter(launch_report_id=report_id)
            .order_by("timestamp", "pk")
            .values_list("pk", flat=True)
        )
        rows = [Log(pk=pk, line=number) for number, pk in enumerate(ids)]
        Log.objects.bulk_update(rows, ["line"], batch_size=1000)


def count_report_lines(apps):
    """Counters and end time of every report, from one pass over the log lines."""
    LaunchReport = apps.get_model("eztaskmanager", "LaunchReport")
    Log = apps.get_model("eztaskmanager", "Log")
    stats = (
        Log.objects.values("launch_report_id")
        .annotate(
            lines=Count("id"),
            errors=Count("id", filter=Q(level__in=ERROR_LEVELS)),
            warnings=Count("id", filter=Q(level__in=WARNING_LEVELS)),
            last=Max("timestamp"),
        )
        .order_by()
    )
    for row in stats.iterator():
        LaunchReport.objects.filter(pk=row["launch_report_id"]).update(
            n_log_lines=row["lines"],
            n_log_errors=row["errors"],
            n_log_warnings=row["warnings"],
            finished_at=row["last"],
        )
    LaunchReport.objects.filter(finished_at=None).update(finished_at=F("invocation_datetime"))


def fill_task_summaries(apps):
    LaunchReport = apps.get_model("eztaskmanager", "LaunchReport")
    Task = apps.get_model("eztaskmanager", "Task")
    latest = (
        LaunchReport.objects.filter(task=OuterRef("pk"))
        .order_by("-invocation_datetime", "-pk")
        .values("pk")[:1]
    )
    Task.objects.update(cached_last_report=Subquery(latest))
    # No run of 0.5 goes on (see count_report_lines): a task is scheduled or idle.
    Task.objects.exclude(scheduled_job_id="").update(status="scheduled")
    Task.objects.filter(scheduled_job_id="").update(status="idle", cached_next_ride=None)


def fill(apps, schema_editor):
    merge_duplicate_commands(apps)
    rename_duplicate_categories(apps)
    fill_task_nulls(apps)
    number_log_lines(apps, schema_editor)
    count_report_lines(apps)
    fill_task_summaries(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('eztaskmanager', '0004_from_0_5_new_fields'),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
