"""Tasks with a history of runs, as an admin that has been used for a while shows them.

For the tests of the lists' layout and the screenshots of the documentation: every result
colour, runs of different lengths, long names, a task that runs now, one scheduled, one
that never ran.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.utils import timezone

from eztaskmanager.models import AppCommand, LaunchReport, Task, TaskCategory, write_log_rows

# name: (category, note, runs as (result, seconds, errors, warnings), oldest first)
HISTORIES = {
    "Nightly import of the library catalogue": (
        "Imports",
        "Imports the nightly records from the publishers' feeds; slow on Mondays.",
        [
            ("ok", 62, 0, 0),
            ("ok", 71, 0, 0),
            ("warnings", 95, 0, 3),
            ("ok", 58, 0, 0),
            ("ok", 64, 0, 0),
            ("errors", 130, 2, 4),
            ("ok", 66, 0, 0),
            ("ok", 61, 0, 0),
        ],
    ),
    "Weekly newsletter to every subscriber": (
        "Reports",
        "Sends the newsletter; runs on Monday mornings.",
        [("ok", 12, 0, 0), ("ok", 14, 0, 0), ("ok", 11, 0, 0), ("errors", 19, 9, 4)],
    ),
    "Cache warm-up": (
        "Maintenance",
        "Fills the page cache after a deploy.",
        [("ok", 4, 0, 0), ("warnings", 6, 0, 1), ("warnings", 5, 0, 2)],
    ),
    "Legacy sync with the old accounting system": (
        "Imports",
        "Talks to the old server; fails when it is down.",
        [("ok", 30, 0, 0), ("stopped", 12, 0, 0), ("failed", 3, 1, 0)],
    ),
    "Search reindex": (
        "Maintenance",
        "Rebuilds the search index from scratch.",
        [("ok", 240, 0, 0), ("ok", 251, 0, 0), ("stopped", 80, 0, 0)],
    ),
}
TAIL = [
    ("INFO", "Start"),
    ("INFO", "Reading the feed of 2,431 records"),
    ("DEBUG", "Batch 24 of 25"),
    ("INFO", "Batch 25 of 25"),
]


def add_history(command: AppCommand, now=None) -> dict[str, Task]:
    """The tasks of ``HISTORIES`` with their finished runs, every one an hour apart."""
    now = now or timezone.now()
    tasks = {}
    for name, (category, note, runs) in HISTORIES.items():
        group, _created = TaskCategory.objects.get_or_create(name=category)
        task = Task.objects.create(name=name, command=command, category=group, note=note)
        for age, (result, seconds, errors, warnings) in enumerate(reversed(runs)):
            started = now - timedelta(hours=age + 1, minutes=7 * len(name) % 50)
            report = LaunchReport.objects.create(task=task, invocation_datetime=started)
            lines = [*TAIL]
            lines += [("WARNING", f"Record {i} has no ISBN") for i in range(warnings)]
            lines += [("ERROR", f"Record {i} was refused by the server") for i in range(errors)]
            lines.append(("INFO", "Finished"))
            base = started.timestamp()
            write_log_rows(
                report.pk, [(base + i, level, text) for i, (level, text) in enumerate(lines)]
            )
            # Test data of the past: the run's end is written as it was, not as now.
            LaunchReport.objects.filter(pk=report.pk).update(
                state=LaunchReport.STATE_FINISHED,
                invocation_result=result,
                finished_at=started + timedelta(seconds=seconds),
                reason=f"Stopped after {seconds} s." if result == "stopped" else "",
            )
        task.compute_cache()
        tasks[name] = task
    return tasks


def add_scheduled(
    command: AppCommand,
    name: str = "Send reminders every hour",
    arm: bool = True,
    first: datetime | None = None,
) -> Task:
    """A periodic task, never run yet, its schedule booked (as an engine books it) if ``arm``;
    its first run ``first``, or in 25 minutes."""
    group, _created = TaskCategory.objects.get_or_create(name="Reports")
    first = first or timezone.now() + timedelta(minutes=25)
    task = Task.objects.create(
        name=name,
        command=command,
        category=group,
        scheduling=first,
        repetition_period=Task.REPETITION_PERIOD_HOUR,
        repetition_rate=1,
        note="Reminds readers of the books they borrowed.",
    )
    if arm:
        task.arm_schedule(f"sample-{task.pk}", first)
    return task


def add_running(command: AppCommand, name: str = "Rebuild the thumbnails") -> LaunchReport:
    """A task with a run going on (a worker of this process's name started it)."""
    group, _created = TaskCategory.objects.get_or_create(name="Maintenance")
    task = Task.objects.create(name=name, command=command, category=group)
    for hours, seconds in ((50, 320), (26, 300)):
        started = timezone.now() - timedelta(hours=hours)
        LaunchReport.objects.filter(
            pk=LaunchReport.objects.create(task=task, invocation_datetime=started).pk
        ).update(
            state=LaunchReport.STATE_FINISHED,
            invocation_result="ok",
            finished_at=started + timedelta(seconds=seconds),
        )
    task.compute_cache()
    queued = task.queue_run(f"sample-run-{task.pk}")
    report = LaunchReport.objects.start_run(task.pk, queued.job_id, worker="sample@host")
    write_log_rows(report.pk, [(time.time(), "INFO", "Start")])
    LaunchReport.objects.filter(pk=report.pk).update(
        invocation_datetime=timezone.now() - timedelta(seconds=150)
    )
    return report
