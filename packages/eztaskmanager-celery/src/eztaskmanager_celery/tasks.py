"""The Celery task that runs an eztaskmanager task in a worker.

It lives in ``tasks.py`` so that a project's ``app.autodiscover_tasks()`` finds it (the
app's ``ready()`` imports it too). It is a ``shared_task``: it works with whichever Celery
app the project has. The core runner does all the work: the Celery task id is the run's
job id (Start and the beat publish it with the id of the run they queued), and the
worker's name is recorded on the report. In a prefork pool process the run's database
connection was opened while the process waited (:mod:`eztaskmanager_celery.spare`).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

# The task's name: route it with ``task_routes = {"eztaskmanager_celery.tasks.*": ...}``.
RUN_TASK_NAME = "eztaskmanager_celery.tasks.run_management_command"


@shared_task(bind=True, name=RUN_TASK_NAME)
def run_management_command(self: Any, task_id: int) -> dict[str, Any] | None:
    """Run the eztaskmanager task ``task_id``; return its report's id and result."""
    # Imported here: a worker imports task modules while Django is still being set up.
    from eztaskmanager.services import run_management_command as run
    from eztaskmanager.services.spare_connections import spare_connection

    with spare_connection.around_run():
        report = run(task_id, job_id=self.request.id or "", worker=self.request.hostname or "")
    if report is None:
        return None
    return {"report": report.pk, "result": report.invocation_result}
