"""Chains: a task that follows another starts each time that one ends, as its result allows.

The follower starts as "Run now with..." starts a run: now, with its own arguments,
its schedule left as it is, and never as a second run of it at once. A follower that is
still running when its predecessor ends again is not started again; its running
report says so, as for a scheduled run that comes due meanwhile.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from django.utils.translation import gettext as _

from eztaskmanager.exceptions import TaskAlreadyRunning, TaskQueueException
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.models.tasks import FOLLOWS_ON_ANY
from eztaskmanager.origins import CHAIN, Origin
from eztaskmanager.registry import get_backend

logger = logging.getLogger(__name__)


def start_followers(report: LaunchReport) -> int:
    """Start the tasks that follow the task of ``report``, which has ended; return how many."""
    followers = Task.objects.select_related("command").filter(follows_id=report.task_id)
    if report.invocation_result != LaunchReport.RESULT_OK:
        followers = followers.filter(follows_on=FOLLOWS_ON_ANY)
    return sum(start_follower(task, report) for task in followers)


def start_follower(task: Task, after: LaunchReport) -> bool:
    """Start ``task`` after the run ``after`` of the task it follows; never raises."""
    names = {"task": after.task, "result": after.get_invocation_result_display()}
    if task.chain_loops():
        logger.error("Task %s is in a chain that loops; it is not started.", task.pk)
        return False
    try:
        get_backend().run_once(
            task,
            note=_("Started after %(task)s ended: %(result)s.") % names,
            by=Origin(CHAIN, after.started_by),
        )
    except TaskAlreadyRunning:
        running = task.active_runs().order_by("-invocation_datetime").first()
        if running is not None:
            running.append_log(
                "WARNING",
                _("A run after %(task)s (%(result)s) was skipped: this run was still going on.")
                % names,
            )
        return False
    except TaskQueueException as exc:
        logger.warning("Task %s was not started after task %s: %s", task.pk, after.task_id, exc)
        return False
    except Exception:
        logger.exception("Task %s was not started after task %s", task.pk, after.task_id)
        return False
    return True


class Outdated(NamedTuple):
    """A follower whose last OK run (``last_ok``, ``None``: never) is older than its
    predecessor's (``followed_ok``): what it made is behind what it follows."""

    last_ok: datetime | None
    followed_ok: datetime


def last_ok_run(task_id: int) -> datetime | None:
    """When the task's newest OK run started, if it has one."""
    return (
        LaunchReport.objects.filter(task_id=task_id, invocation_result=LaunchReport.RESULT_OK)
        .order_by("-invocation_datetime")
        .values_list("invocation_datetime", flat=True)
        .first()
    )


def outdated(task: Task) -> Outdated | None:
    """JobControl's "outdated": the task follows one whose last OK run is newer than its own."""
    if task.follows_id is None:
        return None
    followed_ok = last_ok_run(task.follows_id)
    if followed_ok is None:
        return None
    last_ok = last_ok_run(task.pk)
    if last_ok is not None and last_ok >= followed_ok:
        return None
    return Outdated(last_ok, followed_ok)
