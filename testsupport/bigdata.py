"""Many tasks and reports, made fast, for query-count tests and benchmarks of the task list."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone


def populate_tasks(n_tasks: int, reports_per_task: int) -> None:
    """``n_tasks`` tasks with ``reports_per_task`` finished reports each, caches filled in."""
    # The models import once Django is set up: benchmarks import this module before.
    from eztaskmanager.models import AppCommand, LaunchReport, Task, TaskCategory

    commands = AppCommand.objects.bulk_create(
        AppCommand(name=f"command_{i}", app_name="app", active=True) for i in range(5)
    )
    categories = TaskCategory.objects.bulk_create(TaskCategory(name=f"cat {i}") for i in range(5))
    now = timezone.now()
    tasks = Task.objects.bulk_create(
        (
            Task(
                name=f"task {i}",
                command=commands[i % 5],
                category=categories[i % 5],
                note=f"note {i}",
                cached_last_invocation_datetime=now - timedelta(minutes=i),
                cached_last_invocation_result=("ok", "warnings", "errors", "failed")[i % 4],
                cached_last_invocation_n_errors=i % 3,
                cached_last_invocation_n_warnings=i % 7,
            )
            for i in range(n_tasks)
        ),
        batch_size=2000,
    )
    LaunchReport.objects.bulk_create(
        (
            LaunchReport(
                task=task,
                state=LaunchReport.STATE_FINISHED,
                invocation_result="ok",
                invocation_datetime=now - timedelta(minutes=k),
                finished_at=now,
            )
            for task in tasks
            for k in range(reports_per_task)
        ),
        batch_size=5000,
    )
    latest = LaunchReport.objects.filter(task=OuterRef("pk")).order_by("-invocation_datetime")
    Task.objects.update(cached_last_report=Subquery(latest.values("pk")[:1]))
