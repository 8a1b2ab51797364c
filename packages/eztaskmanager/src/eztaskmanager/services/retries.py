"""Retries: a failed run is tried again, later, as many times as its task allows.

A run that *failed* (an exception, a timeout, a lost worker) after it had started gets
a next attempt, due ``retry_delay`` seconds later, then ``retry_backoff`` times longer
for each next one. Each attempt is its own report, linked to the first. A run stopped by
a user, one that ended with errors or warnings (its command ran to its end), and one
that never started (dropped past its time to live, say) are not tried again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.models.task_rules import MAX_RETRY_DELAY
from eztaskmanager.registry import get_backend

logger = logging.getLogger(__name__)


def retry_delay(task: Task, attempt: int) -> timedelta:
    """How long after attempt ``attempt`` failed the next one is due (a week at most)."""
    seconds = task.retry_delay * task.retry_backoff ** (attempt - 1)
    return timedelta(seconds=min(seconds, MAX_RETRY_DELAY))


def retry_failed(report: LaunchReport) -> LaunchReport | None:
    """Queue the next attempt of ``report`` when its task allows one; never raises."""
    task = report.task
    if (
        report.invocation_result != LaunchReport.RESULT_FAILED
        or not report.started
        or report.attempt > task.retries
    ):
        return None
    when = timezone.now() + retry_delay(task, report.attempt)
    try:
        return get_backend().retry(report, when)
    except TaskQueueException as exc:
        logger.warning("Task %s: attempt %s was not tried again: %s", task.pk, report.attempt, exc)
    except Exception:
        logger.exception("Task %s: attempt %s was not tried again", task.pk, report.attempt)
    return None
