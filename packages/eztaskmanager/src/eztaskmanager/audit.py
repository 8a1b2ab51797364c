"""Writes the audit trail (:class:`~eztaskmanager.models.AuditEvent`).

The core records what its services do (start, stop, schedule, unschedule) with the
origin they are given; the admin records what users edit (create, change, delete). A
failure to write the trail is logged and never stops the action itself: :func:`record`
writes in a savepoint of the caller's transaction, which the failure leaves usable. A
Start writes its event with :func:`record_or_raise` in the transaction that queues its
run, where a savepoint would cost two more round trips on every Start; if the write
fails, the transaction is lost and the Start queues its run again without the event.
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


class NotRecorded(Exception):
    """:func:`record_or_raise` could not write its event; the caller's transaction is lost."""


def record(
    action: str,
    task: Task,
    by: Origin | str | None = None,
    report: LaunchReport | None = None,
    detail: str = "",
) -> AuditEvent | None:
    """Record that ``by`` did ``action`` (one of ``AuditEvent``'s actions) on ``task``."""
    try:
        return _write(action, task, as_origin(by), report, detail, savepoint=True)
    except NotRecorded:
        return None


def record_or_raise(
    action: str,
    task: Task,
    by: Origin | str | None = None,
    report: LaunchReport | None = None,
    detail: str = "",
) -> AuditEvent:
    """:func:`record` in the caller's transaction with no savepoint: on a failure, logged
    as :func:`record` logs it, raise :class:`NotRecorded`, and the transaction can only
    be rolled back."""
    return _write(action, task, as_origin(by), report, detail, savepoint=False)


def _write(
    action: str,
    task: Task,
    origin: Origin,
    report: LaunchReport | None,
    detail: str,
    savepoint: bool,
) -> AuditEvent:
    from eztaskmanager.models import AuditEvent
    from eztaskmanager.models.compiled import insert_row

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
        guarded = savepoint and connections[using].in_atomic_block
        with transaction.atomic(using) if guarded else nullcontext():
            return insert_row(event, using)
    except Exception as exc:
        logger.exception("Could not record that %s %s task %s", origin, action, task.pk)
        raise NotRecorded from exc
