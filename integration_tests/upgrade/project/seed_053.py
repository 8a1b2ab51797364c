"""Use django-eztaskmanager 0.5.3 as a project did, and print what it left, as JSON.

Run by the upgrade test with the Python of a virtualenv holding 0.5.3 from the package
index (never with these packages): it migrates the database, creates an admin user,
collects the commands, defines tasks, runs some on an RQ worker with 0.5.3's own runner
(reports and log lines written by 0.5.3's code), and schedules a periodic one in
rq-scheduler.
"""

import io
import json
import os
import sys
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oldsite.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

import eztaskmanager  # noqa: E402
from eztaskmanager.models import AppCommand, LaunchReport, Task, TaskCategory  # noqa: E402
from eztaskmanager.services.queues import get_task_service  # noqa: E402

assert eztaskmanager.__version__ == "0.5.3", eztaskmanager.__file__

call_command("migrate", verbosity=0)
User.objects.create_superuser("admin", "admin@example.com", "upgrade-pass")
call_command("collectcommands", "--excludecore", stdout=io.StringIO())

imports = TaskCategory.objects.create(name="Imports")
TaskCategory.objects.create(name="Imports")  # 0.5 allowed two categories of one name
command = AppCommand.objects.get(app_name="shop", name="import_prices")


def task(name, arguments, **fields):
    return Task.objects.create(
        name=name, command=command, arguments=arguments, category=imports, **fields
    )


clean = task("Import prices", "--rows=3, --verbosity=2")
problems = task("Import prices with problems", "--rows=2, --bad=2, --verbosity=2")
# 0.5 kept "--title Spring sale" as one value; the seed syntax splits it in two words.
titled = task("Import the spring list", "--title Spring sale, --rows=1, --verbosity=2")
nightly = task(
    "Nightly import",
    "--rows=1",
    scheduling=timezone.now() + timedelta(days=1),
    repetition_period="day",
    repetition_rate=1,
)
# Runs go through RQ as in production: queued by 0.5.3's service, run by a burst worker
# (each in its own forked work-horse).
service = get_task_service()
for item in (clean, problems, titled):
    service.add(item)
call_command("rqworker", "default", "--burst", verbosity=0)
service.add(clean)
call_command("rqworker", "default", "--burst", verbosity=0)
service.add(nightly)

json.dump(
    {
        "version": eztaskmanager.__version__,
        "tasks": {
            t.name: {
                "pk": t.pk,
                "status": t.status,
                "scheduled_job_id": t.scheduled_job_id,
                "arguments": t.arguments,
            }
            for t in Task.objects.all()
        },
        "reports": [
            {
                "pk": r.pk,
                "task": r.task.name,
                "result": r.invocation_result,
                "lines": [[log.level, log.message] for log in r.logs.order_by("timestamp", "id")],
                "tail": r.log_tail(5),
            }
            for r in LaunchReport.objects.order_by("pk")
        ],
    },
    sys.stdout,
)
