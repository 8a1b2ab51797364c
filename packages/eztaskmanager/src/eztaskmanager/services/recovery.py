"""Recovery: end the runs whose process is gone, and book again the schedules an engine lost.

:func:`recover` is what workers and schedulers call when they start and on their ticks,
and what ``manage.py eztaskmanager_resync`` runs. It is idempotent: on a healthy system
it finds nothing to do. Whether one run is lost is judged by
:mod:`eztaskmanager.services.liveness` (its functions are importable from here too).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager.services.engine import ScheduleHandle
from eztaskmanager.services.liveness import reap_run, why_lost, why_lost_queued

if TYPE_CHECKING:
    from eztaskmanager.services.queues import TaskQueueService

logger = logging.getLogger(__name__)

__all__ = ["Every", "reap", "reap_run", "recover", "resync", "why_lost", "why_lost_queued"]


def reap(backend: TaskQueueService | None = None) -> list[str]:
    """End every run that can no longer end by itself; return what was done, one line each."""
    backend = backend or get_backend()
    done = []
    for report in LaunchReport.objects.active().select_related("task").order_by("pk"):
        try:
            if reap_run(report, backend, refresh=False):
                done.append(f"{report.task} (report {report.pk}): {report.reason}")
        except LaunchReport.DoesNotExist:
            continue  # deleted meanwhile
    return done


def resync(backend: TaskQueueService | None = None) -> list[str]:
    """Book again every schedule the engine lost, and set right statuses that drifted."""
    backend = backend or get_backend()
    done = []
    drifted = Task.objects.filter(status__in=[Task.STATUS_STARTED, Task.STATUS_SPOOLED]).exclude(
        pk__in=LaunchReport.objects.active().values("task_id")
    )
    for task in drifted:
        with transaction.atomic():
            fresh = Task.locked(task.pk)
            if fresh is not None:
                before = fresh.status
                if fresh.sync_status() != before:
                    done.append(f"{fresh}: status {before} -> {fresh.status}")
    # The engine is asked about every schedule by its handle alone; the few it lost are
    # read whole, one by one, to be booked again.
    scheduled = list(
        map(
            ScheduleHandle._make,
            Task.objects.exclude(scheduled_job_id="").values_list("pk", "scheduled_job_id"),
        )
    )
    for stub in backend.lost_schedules(scheduled) if scheduled else []:
        task = Task.objects.select_related("command").filter(pk=stub.pk).first()
        if task is None:
            continue  # deleted meanwhile
        try:
            backend.rearm(task)
        except Exception as exc:
            logger.error("Could not book the schedule of task %s again: %s", task.pk, exc)
            done.append(f"{task}: its schedule was lost and could not be booked again: {exc}")
            continue
        task.refresh_from_db()
        when = timezone.localtime(task.cached_next_ride) if task.cached_next_ride else "-"
        done.append(f"{task}: schedule booked again, next run {when}")
    return done


def recover(backend: TaskQueueService | None = None, schedules: bool = True) -> list[str]:
    """:func:`reap`, then (with ``schedules``) :func:`resync`; log and return what was done."""
    done = reap(backend)
    if schedules:
        done += resync(backend)
    for line in done:
        logger.warning("eztaskmanager recovery: %s", line)
    return done


class Every:
    """A gate that opens at most once every ``seconds``, for work done on a loop's ticks."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True
