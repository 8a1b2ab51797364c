"""Run one task: the function every queue backend calls in its worker."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from django.core.management import call_command
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.utils.translation import gettext as _

from eztaskmanager.models import LaunchReport, RunBlocked
from eztaskmanager.models.logs import NO_LINES, LogColumns
from eztaskmanager.processes import ProcessInfo, this_process
from eztaskmanager.progress import RunProgress, tracking
from eztaskmanager.registry import get_backend
from eztaskmanager.services.liveness import reap_run
from eztaskmanager.services.logger import DatabaseLogHandler, LogStream
from eztaskmanager.services.monitor import (
    Interrupter,
    RunInterrupted,
    RunMonitor,
    RunStopped,
)

logger = logging.getLogger(__name__)

OUTPUT_LOGGER = "eztaskmanager.output"
# How long the runner keeps trying to record a run's end while the database is away.
FINISH_RETRY_SECONDS = 60.0

T = TypeVar("T")


class Outcome(NamedTuple):
    """How a command ended: its result (``None``: as its log says), why, and its last log
    lines, which the run's end writes with it."""

    result: str | None
    reason: str
    lines: LogColumns


def run_management_command(
    task_id: int, job_id: str = "", *, worker: str = ""
) -> LaunchReport | None:
    """Run the task's command and leave a finished :class:`LaunchReport`.

    ``job_id`` is the queue engine's id of the job (a run queued by the admin has its
    report waiting under that id); ``worker`` names the worker as the engine does.
    Returns ``None`` without running anything when there is nothing to run: the task no
    longer exists, its run was stopped before it started, or another run of the task
    is still going on (a scheduled job that comes due meanwhile is skipped, and says so
    in that run's log). Safe to call from any worker process or thread.
    """
    _close_old_connections()
    try:
        report = _start(task_id, job_id, this_process(worker))
        if report is None:
            return None
        _run(report)
        return report
    finally:
        _close_old_connections()


def run_started(report: LaunchReport) -> LaunchReport:
    """Run a run that the process which forked this one started for it (see
    :func:`start_run_in`); from there on, as :func:`run_management_command`."""
    try:
        _run(report)
        return report
    finally:
        _close_old_connections()


def start_run_in(task_id: int, job_id: str, process: ProcessInfo) -> LaunchReport | None:
    """Mark the run of ``job_id`` started in ``process``; return its report, ``None`` if
    there is nothing to run.

    Tried once: unlike the runner's own start, it neither waits for a database that is
    away nor ends a blocking run whose process is gone; it raises, as
    ``LaunchReport.objects.start_run()`` does. A worker that forks a process per run
    calls it for the process it has just forked, which then calls :func:`run_started`.
    """
    return LaunchReport.objects.start_run(
        task_id,
        job_id,
        worker=process.worker,
        pid=process.pid,
        host_key=process.host_key,
        parent_pid=process.parent_pid,
        timeout_for=get_backend().run_timeout,
    )


def _run(report: LaunchReport) -> None:
    """Run the started ``report``'s command, then end it."""
    progress = RunProgress()
    with tracking(progress):
        outcome = execute(report, progress)
    _end(report, outcome, progress.take())


def _start(task_id: int, job_id: str, process: ProcessInfo) -> LaunchReport | None:
    """Mark the run started, after ending a blocking run whose process is gone."""
    backend = get_backend()
    for attempt in (1, 2):
        try:
            # A connection the server ended meanwhile (one opened ahead by the worker,
            # say) is replaced, as at the run's end.
            return _with_retries(
                lambda: start_run_in(task_id, job_id, process),
                f"start the run of task {task_id}",
            )
        except RunBlocked as blocked:
            if attempt == 1 and reap_run(blocked.report, backend):
                continue  # its process was gone: it has ended, try again
            blocked.report.append_log(
                "WARNING",
                _("A scheduled run (job %(job)s) was skipped: this run was still going on.")
                % {"job": job_id or "-"},
            )
            logger.warning(
                "Task %s is still running (report %s); job %s skipped.",
                task_id,
                blocked.report.pk,
                job_id,
            )
            return None
    return None


def _end(report: LaunchReport, outcome: Outcome, last_bars: dict | None) -> None:
    """End the run with its last log lines; without them if the database refuses them,
    rather than leave the run going on until it is declared lost."""

    def finish(lines: LogColumns) -> Callable[[], bool]:
        return lambda: report.finish(
            outcome.result, outcome.reason, progress=last_bars, lines=lines
        )

    try:
        _with_retries(finish(outcome.lines), f"end run {report.pk}")
    except (OperationalError, InterfaceError):
        raise  # the database is away: tried long enough
    except DatabaseError:
        if not outcome.lines.levels:
            raise
        logger.exception(
            "The last %d log lines of report %s could not be stored; its run ends without them.",
            len(outcome.lines.levels),
            report.pk,
        )
        _with_retries(finish(NO_LINES), f"end run {report.pk}")


def _close_old_connections() -> None:
    """Drop stale connections as a request would, unless called inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


def execute(report: LaunchReport, progress: RunProgress | None = None) -> Outcome:
    """Call the command with the run's arguments, storing its output; return how it ended.

    The result is ``None`` for a run that ended by itself: its log counters decide it.
    The lines still waiting to be written at the end are the outcome's, for the run's end
    to write in its own transaction.

    Outside a transaction a helper thread (:class:`RunMonitor`) keeps the heartbeat and
    ends the command when it is stopped or times out; inside one (tests) it cannot see
    the run's rows, and the command simply runs to its end.
    """
    task = report.task
    # The helper thread writes the log lines, so the command's thread only appends them.
    helper = not connection.in_atomic_block
    handler = DatabaseLogHandler(
        report.pk,
        thread_id=threading.get_ident(),
        helper_writes=helper,
        mask=task.mask_secrets if task.secret_arguments else None,
    )
    root = logging.getLogger()
    root.addHandler(handler)
    stdout = LogStream(handler, logging.INFO, f"{OUTPUT_LOGGER}.stdout")
    stderr = LogStream(handler, logging.WARNING, f"{OUTPUT_LOGGER}.stderr")
    interrupter = Interrupter()
    monitor = None
    if helper:
        monitor = RunMonitor(
            report, handler, interrupter, timeout=report.timeout, progress=progress
        )
        monitor.start()
    started = time.monotonic()
    result, reason = "", ""
    ended = False  # False while an exception (a worker's shutdown) goes on up through here
    try:
        try:
            with printing_to(stdout, stderr), interrupter:
                call_command(
                    task.command.get_command_class(),
                    *report.args,
                    *task.secret_args,
                    stdout=stdout,
                    stderr=stderr,
                )
        except RunInterrupted as exc:
            result, reason = _interrupted(report, exc, time.monotonic() - started)
        except (Exception, SystemExit) as exc:
            stdout.flush()
            stderr.flush()
            result = LaunchReport.RESULT_FAILED
            reason = _failure_reason(report, exc, time.monotonic() - started)
            _log_failure(handler, exc)
        ended = True
    finally:
        stdout.flush()
        stderr.flush()
        if monitor is not None:
            monitor.stop()
        root.removeHandler(handler)
        if result and not connection.in_atomic_block:
            # An interrupted query may leave the connection unusable; start afresh.
            connection.close()
        if ended:
            lines = handler.close_taking_last_lines()
        else:  # no end follows: the lines are written now
            handler.close()
    if result:
        return Outcome(result, reason, lines)
    if monitor is not None and monitor.ended_by is not None:
        # The command caught the interruption and returned: it was stopped (or timed out) all the same.
        return Outcome(*_interrupted(report, monitor.ended_by(), time.monotonic() - started), lines)
    # As its log says: finish() reads the counters under the task's lock.
    return Outcome(None, "", lines)


class ThreadRoutedStream:
    """What ``sys.stdout`` or ``sys.stderr`` is while runs go on in this process.

    A write from the thread of a run goes to that run's log (``print()`` lands where
    ``self.stdout`` does, on every backend); a write from any other thread goes to the
    stream this one replaced (the worker's terminal, or the engine's own redirection),
    as does the write of a logging handler that prints to the console from the run's
    thread (its record is stored already).
    """

    def __init__(self, name: str, fallback: Any) -> None:
        self.name = name
        self.fallback = fallback

    def _route(self) -> LogStream | None:
        streams = _print_routes.get(threading.get_ident())
        return None if streams is None else streams[self.name == "stderr"]

    def write(self, text: str) -> int:
        route = self._route()
        if route is None or sys._getframe(1).f_code in _CONSOLE_HANDLER_CODES:
            return self.fallback.write(text)
        return route.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # A run's stream writes whole lines as they come (its handler batches them):
        # print(..., flush=True) must not cut a line in two.
        if self._route() is None:
            self.fallback.flush()

    def isatty(self) -> bool:
        return False if self._route() is not None else self.fallback.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fallback, name)


# The streams of the runs going on in this process, by thread; how many runs use them.
_print_routes: dict[int, tuple[LogStream, LogStream]] = {}
_print_lock = threading.Lock()
_print_users = 0
# Logging handlers that write to sys.stderr from inside the run's thread: to the console.
_CONSOLE_HANDLER_CODES = frozenset({logging.StreamHandler.emit.__code__})


@contextmanager
def printing_to(stdout: LogStream, stderr: LogStream) -> Iterator[None]:
    """Send what this thread writes to ``sys.stdout``/``sys.stderr`` to ``stdout``/``stderr``.

    ``print()`` then lands in the run's log as INFO (``sys.stderr`` as WARNING, like
    ``self.stderr``), the same on RQ, Celery or any backend, while every other thread of
    the worker keeps its own output. The process's streams are put back when the last
    run of the process ends, unless something else replaced them meanwhile.
    """
    global _print_users
    ident = threading.get_ident()
    with _print_lock:
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if not isinstance(current, ThreadRoutedStream):
                setattr(sys, name, ThreadRoutedStream(name, current))
        previous = _print_routes.get(ident)
        _print_routes[ident] = (stdout, stderr)
        _print_users += 1
    try:
        yield
    finally:
        with _print_lock:
            if previous is None:
                _print_routes.pop(ident, None)
            else:  # a run inside a run (the immediate backend): back to the outer one's
                _print_routes[ident] = previous
            _print_users -= 1
            if not _print_users:
                for name in ("stdout", "stderr"):
                    current = getattr(sys, name)
                    if isinstance(current, ThreadRoutedStream):
                        setattr(sys, name, current.fallback)


def _interrupted(report: LaunchReport, exc: RunInterrupted, elapsed: float) -> tuple[str, str]:
    if isinstance(exc, RunStopped):
        return LaunchReport.RESULT_STOPPED, _("Stopped after %(seconds).1f s.") % {
            "seconds": elapsed
        }
    return LaunchReport.RESULT_FAILED, _timed_out(report)


def _timed_out(report: LaunchReport) -> str:
    return _("Timed out after %(seconds)d s.") % {"seconds": report.timeout}


def _failure_reason(report: LaunchReport, exc: BaseException, elapsed: float) -> str:
    """A failure's traceback says why; only the engine's own time limit (RQ's, Celery's soft
    one) needs a word: it means the run timed out."""
    if report.timeout and elapsed >= report.timeout:
        return _timed_out(report)
    return ""


def _log_failure(handler: DatabaseLogHandler, exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc)).rstrip()
    record = logging.LogRecord(OUTPUT_LOGGER, logging.ERROR, __file__, 0, text, None, None)
    handler.handle(record)


def _with_retries(action: Callable[[], T], what: str, seconds: float = FINISH_RETRY_SECONDS) -> T:
    """Do ``action``, trying again on a fresh connection while the database is away."""
    deadline = time.monotonic() + seconds
    pause = 0.5
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + pause > deadline or connection.in_atomic_block:
                raise
            logger.warning("Could not %s (%s); trying again in %.1f s.", what, exc, pause)
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 10.0)
