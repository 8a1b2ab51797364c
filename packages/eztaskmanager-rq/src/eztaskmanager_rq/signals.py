"""Cancel the scheduled job of a task that is deleted, rather than let it fire for nothing."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import post_delete

from eztaskmanager.models import Task
from eztaskmanager.registry import get_backend
from eztaskmanager_rq.backend import RQBackend

logger = logging.getLogger(__name__)


def cancel_schedule_of_deleted_task(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Take the deleted task's job out of rq-scheduler; never fails the deletion."""
    if not instance.scheduled_job_id:
        return
    try:
        backend = get_backend()
        if isinstance(backend, RQBackend):
            backend.cancel(instance.scheduled_job_id)
    except Exception:
        # The job is dropped when it fires anyway (its task is gone).
        logger.warning(
            "Could not cancel scheduled job %s of deleted task %s.",
            instance.scheduled_job_id,
            instance.pk,
            exc_info=True,
        )


def connect() -> None:
    post_delete.connect(
        cancel_schedule_of_deleted_task, sender=Task, dispatch_uid="eztaskmanager_rq.cancel"
    )
