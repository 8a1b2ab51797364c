"""Prepare the demo's database: an admin login, active commands, a category, sample tasks.

Safe to run any number of times: what exists is kept (and the admin's password is not
reset), what is missing is created. The runs a previous session left open (its workers
were stopped mid-run) end, and schedules its Redis lost are booked again, by the core's
recovery (``eztaskmanager.services.recovery.recover``, what ``manage.py
eztaskmanager_resync`` runs): the demo never writes a status itself. A task someone
stopped in the admin stays stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.formats import date_format

from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import AppCommand, Task, TaskCategory
from eztaskmanager.services.queues import get_task_service
from eztaskmanager.services.recovery import recover

# (app name, command name) of the commands the sample tasks use.
DEMO_COMMANDS = [
    ("eztaskmanager", "collectcommands"),
    ("eztaskmanager", "test_livelogging_command"),
    ("eztaskmanager", "test_failing_command"),
    ("eztaskmanager", "test_stdout_command"),
    ("library", "import_books"),
    ("library", "send_newsletter"),
]

# name: (command, arguments, note)
SAMPLE_TASKS = {
    "Quick check": (
        "test_livelogging_command",
        "--limit=5, --sleep=0.1",
        "Five lines in half a second: start it to see a report appear.",
    ),
    "Live logging with warnings and errors": (
        "test_livelogging_command",
        "--limit=300, --trace-steps=20, --warning-prob=0.05, --error-prob=0.02",
        "Runs for about 30 s: open its live log viewer while it goes on, or stop it.",
    ),
    "Always fails": (
        "test_failing_command",
        "",
        "Raises an exception: its report ends FAILED with the traceback in the log.",
    ),
    "Send the newsletter": (
        "send_newsletter",
        "--readers=5",
        "A plain BaseCommand: what it writes to stdout becomes its log. Its mail password "
        "is a secret argument: the admin and the log show it as ***.",
    ),
}
# Secret arguments of sample tasks (never shown; see docs/how-to/permissions.md).
SECRET_ARGUMENTS = {"Send the newsletter": "--mail-password=demo-only-secret"}
PERIODIC_TASK = "Import books every 5 minutes"


class Command(BaseCommand):
    help = "Create the demo's admin login, active commands, category and sample tasks"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="Admin login to create")
        parser.add_argument("--password", default="admin", help="Its password, if created")

    def handle(self, *args: Any, **options: Any) -> None:
        self.create_admin(options["username"], options["password"])
        self.recover_previous_session()
        call_command("collectcommands", excludecore=True, verbosity=0)
        commands = self.activate_commands()
        category, _created = TaskCategory.objects.get_or_create(name="Demo")
        created = 0
        for name, (command, arguments, note) in SAMPLE_TASKS.items():
            _task, new = Task.objects.get_or_create(
                name=name,
                defaults={
                    "command": commands[command],
                    "arguments": arguments,
                    "note": note,
                    "category": category,
                    "secret_arguments": SECRET_ARGUMENTS.get(name, ""),
                },
            )
            created += new
        created += self.schedule_periodic_task(commands["import_books"], category)
        self.stdout.write(self.sample_tasks_said(created))

    def sample_tasks_said(self, created: int) -> str:
        """How many sample tasks there are, and how many were made now (the rest were kept)."""
        total = len(SAMPLE_TASKS) + 1  # and the periodic one
        if created == total:
            said = f"{total} sample tasks created"
        elif created:
            said = f"{total} sample tasks: {created} created, {total - created} already there"
        else:
            said = f"{total} sample tasks already there"
        others = Task.objects.exclude(name__in=[*SAMPLE_TASKS, PERIODIC_TASK]).count()
        if others:
            said += f"; {others} more {'task' if others == 1 else 'tasks'} of yours"
        return f"{said}."

    def create_admin(self, username: str, password: str) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"Admin login: {username} (already there, password unchanged)")
            return
        user_model.objects.create_superuser(username, f"{username}@example.com", password)
        self.stdout.write(f"Admin login: {username} / {password} (created)")

    def recover_previous_session(self) -> None:
        """End the runs a previous session left open, book again the schedules Redis lost.

        The core logs each thing it fixes ("eztaskmanager recovery: ..."), and the demo's
        logging shows those lines.
        """
        try:
            recover(get_task_service())
        except TaskQueueException as exc:
            raise CommandError(f"Could not recover the previous session: {exc}") from exc

    def activate_commands(self) -> dict[str, AppCommand]:
        commands = {}
        for app_name, name in DEMO_COMMANDS:
            command = AppCommand.objects.filter(app_name=app_name, name=name).first()
            if command is None:
                raise CommandError(
                    f"{app_name}: {name} was not collected; is {app_name} installed?"
                )
            if not command.active:
                command.active = True
                command.save(update_fields=["active"])
            commands[name] = command
        return commands

    def schedule_periodic_task(self, command: AppCommand, category: TaskCategory) -> bool:
        """Create and schedule the periodic sample task, unless it is there; True if created."""
        task, created = Task.objects.get_or_create(
            name=PERIODIC_TASK,
            defaults={
                "command": command,
                "arguments": "--count=40, --source=nightly.csv",
                "note": "Periodic: every 5 minutes from its initial scheduling.",
                "category": category,
                "scheduling": timezone.now() + timedelta(minutes=1),
                "repetition_period": Task.REPETITION_PERIOD_MINUTE,
                "repetition_rate": 5,
            },
        )
        if created:
            try:
                get_task_service().add(task)
            except TaskQueueException as exc:
                raise CommandError(f"Could not schedule {task}: {exc}") from exc
            task.refresh_from_db()
        if not task.scheduled_job_id:
            # Someone stopped or changed it in the admin: their choice stands.
            self.stdout.write(f"{task}: not scheduled (stopped in the admin), left as it is.")
            return created
        next_run = local_text(task.cached_next_ride) if task.cached_next_ride else "unknown"
        self.stdout.write(f"{task}: scheduled, next run {next_run}.")
        return created


def local_text(value) -> str:
    """A time as the admin shows it: the site's time zone, the language's format."""
    when = date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return f"{when} ({timezone.get_current_timezone_name()})"
