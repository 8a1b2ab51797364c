"""What follows the end of every run, however it ended: old reports pruned, notifications
sent, a failed run tried again, the tasks that follow it started."""

from __future__ import annotations

import logging
from typing import Any

from eztaskmanager.conf import get_setting
from eztaskmanager.services.chains import start_followers
from eztaskmanager.services.notifications import emit_notifications
from eztaskmanager.services.retries import retry_failed

logger = logging.getLogger(__name__)


def after_run(sender: Any, report: Any, **kwargs: Any) -> None:
    """Receiver of :data:`~eztaskmanager.signals.run_finished`; never raises."""
    # Read with the task's lock at the run's end (LaunchReport._end), when it ended there:
    # whether anything is to prune or to start, so that the usual end queries neither.
    task = report.task
    try:
        if getattr(task, "report_past_kept", True) is not None and task.prune_reports(
            get_setting("REPORTS_KEPT")
        ):
            task.compute_cache()
    except Exception:
        logger.exception("Could not prune the old reports of task %s", report.task_id)
    emit_notifications(report)
    retry_failed(report)
    try:
        if getattr(task, "has_followers", True):
            start_followers(report)
    except Exception:  # each follower's own errors are logged; this is the query failing
        logger.exception("Could not start the tasks that follow task %s", report.task_id)
