"""Writes the audit trail (:class:`~eztaskmanager.models.AuditEvent`).

The core records what its services do (start, stop, schedule, unschedule) with the
origin they are given; the admin records what users edit (create, change, delete). A
failure to write the trail is logged and never stops the action itself, nor spoils the
transaction it was written in.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import TYPE_CHECKING

from django.db import connections, router, transaction
from django.utils.translation import gettext_lazy as _

from eztaskmanager.origins import Origin, as_origin

if TYPE_CHECKING:
    from eztaskmanager.models import AuditEvent, LaunchReport, Task

logger = logging.getLogger(__name__)

CREATED = "created"
CHANGED = "changed"
DELETED = "deleted"
STARTED = "started"
STOPPED = "stopped"
SCHEDULED = "scheduled"
UNSCHEDULED = "unscheduled"
ACTION_CHOICES = (
    (CREATED, _("created")),
    (CHANGED, _("changed")),
    (DELETED, _("deleted")),
    (STARTED, _("started")),
    (STOPPED, _("stopped")),
    (SCHEDULED, _("scheduled")),
    (UNSCHEDULED, _("unscheduled")),
)


def record(
    action: str,
    task: Task,
    by: Origin | str | None = None,
    report: LaunchReport | None = None,
    detail: str = "",
) -> AuditEvent | None:
    """Record that ``by`` did ``action`` (one of ``AuditEvent``'s actions) on ``task``."""
    from eztaskmanager.models import AuditEvent
    from eztaskmanager.models.compiled import insert_row

    origin = as_origin(by)
    try:
        event = AuditEvent(
            action=action,
            source=origin.source,
            user_id=origin.user_id,
            username=str(origin) if origin.user is not None or origin.name else "",
            task_id=task.pk,
            task_name=str(task)[:255],
            report=report,
            detail=detail,
        )
        using = router.db_for_write(AuditEvent, instance=event)
        # In the caller's transaction, a savepoint: a failed write leaves it usable.
        with transaction.atomic(using) if connections[using].in_atomic_block else nullcontext():
            return insert_row(event, using)
    except Exception:
        logger.exception("Could not record that %s %s task %s", origin, action, task.pk)
        return None
