"""What an edit sets off in the queue engine: the ``post_save`` receivers of the core.

- A task whose schedule is armed, saved with new scheduling fields, command or
  arguments, is booked again from them (or its schedule cancelled when they no longer
  ask for one): an edit in the admin or a ``task.save()`` in code alike. A schedule that
  is not armed stays so: saving a task never books it (the admin's Save does for a user
  who may start tasks, as Start would). Whether a user may make the change at all is the
  form's business (``Task.refuse_run_changes``); code is trusted.
- A command that is deactivated takes its tasks off the schedule. Without this, each
  scheduled run would come due, find the command inactive and fail. Ending a schedule
  is the engine's business, so it may fail (the engine is down): then the first run that
  comes due fails with one line saying why, and ends the schedule.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from eztaskmanager.exceptions import EzTaskManagerError
from eztaskmanager.models import AppCommand, Task
from eztaskmanager.registry import get_backend

logger = logging.getLogger(__name__)


def rearm_edited_schedule(
    sender: type[Task],
    instance: Task,
    created: bool = False,
    raw: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """``post_save`` receiver of :class:`~eztaskmanager.models.Task` (see the module).

    Raises :class:`~eztaskmanager.exceptions.TaskQueueException` when the engine refuses:
    the task is saved, and its caller hears that its schedule is not what it says.
    """
    if created or raw or not instance.schedule_changes(update_fields):
        return
    if not instance.stored_schedule():
        return
    backend = get_backend()
    if instance.is_scheduled_later():
        backend.add(instance)  # which cancels the old schedule first: one booked, never two
    else:
        backend.remove(instance)


def unschedule_tasks_of_inactive_command(
    sender: type[AppCommand], instance: AppCommand, **kwargs: Any
) -> None:
    """``post_save`` receiver of :class:`~eztaskmanager.models.AppCommand`."""
    if instance.active:
        return
    tasks = list(Task.objects.filter(command=instance).exclude(scheduled_job_id=""))
    if not tasks:
        return
    try:
        backend = get_backend()
    except ImproperlyConfigured:
        logger.exception("No backend to unschedule the tasks of %s", instance)
        return
    for task in tasks:
        try:
            backend.remove(task)
        except EzTaskManagerError as exc:
            logger.warning("Could not unschedule %s (command %s inactive): %s", task, instance, exc)
        else:
            logger.info("Unscheduled %s: its command %s is no longer active.", task, instance)
