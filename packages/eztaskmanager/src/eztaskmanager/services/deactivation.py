"""A command that is deactivated takes its tasks off the schedule.

Without this, each scheduled run would come due, find the command inactive and fail.
Ending the schedules is the engine's business, so it may fail (the engine is down): then
the first run that comes due fails with one line saying why, and ends the schedule.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from eztaskmanager.exceptions import EzTaskManagerError

logger = logging.getLogger(__name__)


def unschedule_tasks_of_inactive_command(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_save`` receiver of :class:`~eztaskmanager.models.AppCommand`."""
    if instance.active:
        return
    from eztaskmanager.models import Task
    from eztaskmanager.registry import get_backend

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
