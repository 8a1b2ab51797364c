"""Run one task: the function every queue backend calls in its worker."""

from __future__ import annotations

import logging
import threading
import traceback

from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.utils.translation import gettext as _

from eztaskmanager.arguments import InvalidArguments
from eztaskmanager.conf import get_setting
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.services.logger import DatabaseLogHandler, LogStream

logger = logging.getLogger(__name__)

OUTPUT_LOGGER = "eztaskmanager.output"


def run_management_command(task_id: int, job_id: str = "") -> LaunchReport | None:
    """Run the task's command and leave a finished :class:`LaunchReport`.

    Returns ``None`` without running anything when the task no longer exists or one of
    its runs is still going on (a queue may deliver a scheduled job while the previous
    run lasts). Safe to call from any worker process or thread.
    """
    _close_old_connections()
    try:
        task = Task.objects.select_related("command").filter(pk=task_id).first()
        if task is None:
            logger.warning("Task %s no longer exists; its job %s is dropped.", task_id, job_id)
            return None
        with transaction.atomic():  # one commit for the claim and the report
            claimed = (
                Task.objects.filter(pk=task_id)
                .exclude(status=Task.STATUS_STARTED)
                .update(status=Task.STATUS_STARTED)
            )
            if not claimed:
                logger.warning("Task %s (%s) is already running; run skipped.", task, task_id)
                return None
            task.status = Task.STATUS_STARTED
            report = LaunchReport.objects.create(task=task, job_id=job_id or "")
        try:
            result = execute(task, report)
        except BaseException:
            # The worker itself is going away (KeyboardInterrupt...): leave no run open.
            finish_run(report, LaunchReport.RESULT_FAILED)
            raise
        finish_run(report, result)
        return report
    finally:
        _close_old_connections()


def _close_old_connections() -> None:
    """Drop stale connections as a request would, unless called inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


def execute(task: Task, report: LaunchReport) -> str:
    """Call the command with the task's arguments, storing its output; return the result."""
    handler = DatabaseLogHandler(report.pk, thread_id=threading.get_ident())
    root = logging.getLogger()
    root.addHandler(handler)
    handler.start_flusher()
    stdout = LogStream(handler, logging.INFO, f"{OUTPUT_LOGGER}.stdout")
    stderr = LogStream(handler, logging.WARNING, f"{OUTPUT_LOGGER}.stderr")
    try:
        if not task.command.active:
            raise InvalidArguments(
                _("The command %(command)s is not active.") % {"command": task.command}
            )
        command = task.command.get_command_class()
        call_command(command, *task.args, stdout=stdout, stderr=stderr)
        failed = False
    except (Exception, SystemExit) as exc:
        failed = True
        stdout.flush()
        stderr.flush()
        _log_failure(handler, exc)
    finally:
        stdout.flush()
        stderr.flush()
        root.removeHandler(handler)
        handler.close()
    if failed:
        return LaunchReport.RESULT_FAILED
    report.refresh_from_db(fields=["n_log_errors", "n_log_warnings", "n_log_lines"])
    return report.result_from_counters()


def _log_failure(handler: DatabaseLogHandler, exc: BaseException) -> None:
    finished = LaunchReport.objects.filter(pk=handler.launch_report_id, finished_at__isnull=False)
    if finished.exists():
        return  # stopped from outside: the signal that ended the command is no failure
    text = "".join(traceback.format_exception(exc)).rstrip()
    record = logging.LogRecord(OUTPUT_LOGGER, logging.ERROR, __file__, 0, text, None, None)
    handler.handle(record)


def finish_run(report: LaunchReport, result: str) -> None:
    """End a run: record the result, prune old reports, refresh the task, notify.

    Also used when a run is stopped from outside: whoever finishes a report first wins,
    the other call changes nothing.
    """
    from eztaskmanager.registry import get_backend
    from eztaskmanager.services.notifications import emit_notifications

    if not report.finish(result):
        return
    task = report.task
    task.prune_reports(get_setting("REPORTS_KEPT"))
    task.compute_cache()
    try:
        next_run = get_backend().next_run(task)
    except Exception:
        logger.exception("Could not read the next run of task %s", task.pk)
        next_run = None
    fields = {"status": Task.STATUS_SCHEDULED, "cached_next_ride": next_run}
    if next_run is None:
        fields = {"status": Task.STATUS_IDLE, "cached_next_ride": None, "scheduled_job_id": ""}
    Task.objects.filter(pk=task.pk, status=Task.STATUS_STARTED).update(**fields)
    emit_notifications(report)
