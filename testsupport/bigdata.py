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
    # Times spread as real runs' are (no two runs of a page in the same minute), so that
    # nothing the page computes once per minute or per day is flattered.
    LaunchReport.objects.bulk_create(
        (
            LaunchReport(
                task=task,
                state=LaunchReport.STATE_FINISHED,
                invocation_result=("ok", "warnings", "errors", "failed")[(i + k) % 4],
                invocation_datetime=started,
                finished_at=started + timedelta(seconds=(7 * i + 13 * k) % 900),
            )
            for i, task in enumerate(tasks)
            for k in range(reports_per_task)
            for started in [now - timedelta(minutes=k * 97 + i * 7, seconds=(i * 31 + k) % 60)]
        ),
        batch_size=5000,
    )
    latest = LaunchReport.objects.filter(task=OuterRef("pk")).order_by("-invocation_datetime")
    Task.objects.update(cached_last_report=Subquery(latest.values("pk")[:1]))
