"""Commands, tasks, and the reports and log lines that every run leaves behind."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager import scheduling
from eztaskmanager.arguments import InvalidArguments, load_command, parse_arguments, split_arguments

ARGUMENTS_HELP = _(
    'Separate arguments with a comma "," and values inside one argument with a space " ", '
    "e.g. -f, --secondarg param1 param2, --thirdarg=pippo. "
    'Quote values that contain commas or spaces: --title="Hello, world".'
)


class AppCommand(models.Model):
    """A management command of one of the project's apps, collected by ``collectcommands``."""

    name = models.CharField(_("name"), max_length=100)
    app_name = models.CharField(_("app name"), max_length=255)
    active = models.BooleanField(
        _("active"), default=False, help_text=_("Only active commands can be used by tasks.")
    )

    class Meta:
        verbose_name = _("command")
        verbose_name_plural = _("commands")
        ordering = ["app_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["app_name", "name"], name="eztaskmanager_unique_command"
            )
        ]

    def __str__(self) -> str:
        return f"{self.app_name}: {self.name}"

    def get_command_class(self):
        """Return an instance of the command (Django's loader returns instances)."""
        return load_command(self.app_name, self.name)

    @property
    def help_text(self) -> str:
        """The command's full ``--help`` text."""
        try:
            return self.get_command_class().create_parser("manage.py", self.name).format_help()
        except InvalidArguments as exc:
            return str(exc)


class TaskCategory(models.Model):
    """A group of tasks, to filter long task lists."""

    name = models.CharField(_("name"), max_length=255, unique=True)

    class Meta:
        verbose_name = _("task category")
        verbose_name_plural = _("task categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """A management command with its arguments, that can be started now, later or periodically."""

    STATUS_IDLE = "idle"
    STATUS_SPOOLED = "spooled"
    STATUS_SCHEDULED = "scheduled"
    STATUS_STARTED = "started"
    STATUS_CHOICES = (
        (STATUS_IDLE, _("IDLE")),
        (STATUS_SPOOLED, _("SPOOLED")),
        (STATUS_SCHEDULED, _("SCHEDULED")),
        (STATUS_STARTED, _("STARTED")),
    )

    REPETITION_PERIOD_MINUTE = scheduling.MINUTE
    REPETITION_PERIOD_HOUR = scheduling.HOUR
    REPETITION_PERIOD_DAY = scheduling.DAY
    REPETITION_PERIOD_WEEK = scheduling.WEEK
    REPETITION_PERIOD_MONTH = scheduling.MONTH
    REPETITION_PERIOD_CHOICES = (
        (REPETITION_PERIOD_MINUTE, _("MINUTE")),
        (REPETITION_PERIOD_HOUR, _("HOUR")),
        (REPETITION_PERIOD_DAY, _("DAY")),
        (REPETITION_PERIOD_WEEK, _("WEEK")),
        (REPETITION_PERIOD_MONTH, _("MONTH")),
    )

    name = models.CharField(_("name"), max_length=255)
    command = models.ForeignKey(
        AppCommand,
        on_delete=models.CASCADE,
        limit_choices_to={"active": True},
        verbose_name=_("command"),
    )
    arguments = models.TextField(_("arguments"), blank=True, help_text=ARGUMENTS_HELP)
    category = models.ForeignKey(
        TaskCategory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("category"),
        help_text=_("Choose a category for this task"),
    )
    note = models.TextField(_("note"), blank=True, help_text=_("A note on how this task is used."))
    status = models.CharField(
        _("status"), max_length=20, choices=STATUS_CHOICES, default=STATUS_IDLE, editable=False
    )
    scheduling = models.DateTimeField(_("initial scheduling"), null=True, blank=True)
    repetition_period = models.CharField(
        _("repetition period"), max_length=20, choices=REPETITION_PERIOD_CHOICES, blank=True
    )
    repetition_rate = models.PositiveSmallIntegerField(_("repetition rate"), null=True, blank=True)
    timeout = models.PositiveIntegerField(
        _("timeout"),
        null=True,
        blank=True,
        help_text=_("Seconds a run may last before the queue stops it; empty: the backend's."),
    )
    scheduled_job_id = models.CharField(
        _("scheduled job id"),
        max_length=255,
        blank=True,
        editable=False,
        help_text=_("A unique identifier for the scheduled job, if any"),
    )
    cached_last_invocation_datetime = models.DateTimeField(
        _("last datetime"), null=True, blank=True, editable=False
    )
    cached_last_invocation_result = models.CharField(
        _("last result"), max_length=20, blank=True, editable=False
    )
    cached_last_invocation_n_errors = models.PositiveIntegerField(
        _("errors"), default=0, editable=False
    )
    cached_last_invocation_n_warnings = models.PositiveIntegerField(
        _("warnings"), default=0, editable=False
    )
    cached_last_report = models.ForeignKey(
        "LaunchReport",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last report"),
    )
    cached_next_ride = models.DateTimeField(
        _("next execution time"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = [F("cached_last_invocation_datetime").desc(nulls_last=True), "name"]
        permissions = [("run_task", _("Can start and stop tasks"))]
        indexes = [
            models.Index(
                fields=["-cached_last_invocation_datetime"], name="eztm_task_last_run_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # Arguments -------------------------------------------------------------------------
    @property
    def args(self) -> list[str]:
        """The argv items passed to the command, split from :attr:`arguments`."""
        return split_arguments(self.arguments)

    @property
    def complete_args(self) -> list[str]:
        """Every argv item, options and positionals alike, as ``call_command`` receives them.

        Passing options as argv strings (rather than keyword arguments) lets the command's
        parser see them, so required options work.
        """
        return self.args

    @property
    def options(self) -> dict[str, Any]:
        """The options the arguments set, as the command's parser reads them."""
        return parse_arguments(self.command.get_command_class(), self.command.name, self.args)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.command_id is not None:
            try:
                parse_arguments(self.command.get_command_class(), self.command.name, self.args)
            except InvalidArguments as exc:
                errors.setdefault("arguments", []).append(str(exc))
        if bool(self.repetition_period) != bool(self.repetition_rate):
            errors.setdefault("repetition_rate", []).append(
                str(_("Set both the repetition period and rate, or neither."))
            )
        if self.is_periodic and self.scheduling is None:
            errors.setdefault("scheduling", []).append(
                str(_("A periodic task needs an initial scheduling."))
            )
        if errors:
            raise ValidationError(errors)

    # Scheduling ------------------------------------------------------------------------
    @property
    def is_periodic(self) -> bool:
        """A task is periodic only if both its repetition period and rate are set."""
        return bool(self.repetition_period and self.repetition_rate)

    @property
    def scheduling_utc(self) -> datetime | None:
        """The initial scheduling in UTC."""
        return self.scheduling.astimezone(dt_timezone.utc) if self.scheduling else None

    @property
    def interval_in_seconds(self) -> int | None:
        """Seconds between runs; ``None`` when not periodic, or for months (not a fixed length)."""
        if not self.is_periodic:
            return None
        return scheduling.period_seconds(self.repetition_period, self.repetition_rate)

    def is_scheduled_later(self, now: datetime | None = None) -> bool:
        """Whether starting this task means scheduling it rather than running it now."""
        now = now or timezone.now()
        return self.is_periodic or (self.scheduling is not None and self.scheduling > now)

    def next_run_after(self, after: datetime | None = None) -> datetime | None:
        """The first run after ``after`` (default: now) the task's fields ask for, if any."""
        after = after or timezone.now()
        if self.scheduling is None:
            return None
        start = timezone.localtime(self.scheduling)
        if not self.is_periodic:
            return self.scheduling if self.scheduling > after else None
        return scheduling.next_run_after(start, self.repetition_period, self.repetition_rate, after)

    # Runs --------------------------------------------------------------------------------
    def set_status(self, status: str, **fields: Any) -> None:
        """Change the status (and related fields) in memory and in the database."""
        self.status = status
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=["status", *fields])

    def compute_cache(self) -> None:
        """Copy the last finished report's figures onto the task, for fast lists."""
        report = (
            self.launchreport_set.exclude(finished_at=None).order_by("-invocation_datetime").first()
        )
        self.cached_last_report = report
        self.cached_last_invocation_datetime = report.invocation_datetime if report else None
        self.cached_last_invocation_result = report.invocation_result if report else ""
        self.cached_last_invocation_n_errors = report.n_log_errors if report else 0
        self.cached_last_invocation_n_warnings = report.n_log_warnings if report else 0
        self.save(
            update_fields=[
                "cached_last_report",
                "cached_last_invocation_datetime",
                "cached_last_invocation_result",
                "cached_last_invocation_n_errors",
                "cached_last_invocation_n_warnings",
            ]
        )

    def prune_reports(self, n: int = 5) -> int:
        """Delete all the task's reports but the latest ``n``; return how many went."""
        newest = self.launchreport_set.order_by("-invocation_datetime").values_list("pk", flat=True)
        keep = list(newest[: n + 1])
        if len(keep) <= n:  # the usual case: nothing to delete, one query spent
            return 0
        deleted, _details = self.launchreport_set.exclude(pk__in=keep[:n]).delete()
        return deleted


class LaunchReport(models.Model):
    """One run of a task: its result, timing and counters; the lines are :class:`Log` rows."""

    RESULT_NO = ""
    RESULT_OK = "ok"
    RESULT_WARNINGS = "warnings"
    RESULT_ERRORS = "errors"
    RESULT_FAILED = "failed"
    RESULT_STOPPED = "stopped"
    RESULT_CHOICES = (
        (RESULT_NO, "---"),
        (RESULT_OK, _("OK")),
        (RESULT_WARNINGS, _("WARNINGS")),
        (RESULT_ERRORS, _("ERRORS")),
        (RESULT_FAILED, _("FAILED")),
        (RESULT_STOPPED, _("STOPPED")),
    )

    task = models.ForeignKey(Task, on_delete=models.CASCADE, verbose_name=_("task"))
    invocation_result = models.CharField(
        _("invocation result"), max_length=20, choices=RESULT_CHOICES, blank=True
    )
    invocation_datetime = models.DateTimeField(_("invocation datetime"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    job_id = models.CharField(_("job id"), max_length=255, blank=True)
    n_log_lines = models.PositiveIntegerField(_("lines"), default=0)
    n_log_errors = models.PositiveIntegerField(_("errors"), default=0)
    n_log_warnings = models.PositiveIntegerField(_("warnings"), default=0)

    class Meta:
        verbose_name = _("launch report")
        verbose_name_plural = _("launch reports")
        ordering = ["-invocation_datetime"]
        indexes = [
            models.Index(fields=["task", "-invocation_datetime"], name="eztm_report_task_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.invocation_datetime:%Y-%m-%d %H:%M:%S} {self.invocation_result}"

    @property
    def is_running(self) -> bool:
        return self.finished_at is None

    @property
    def duration(self) -> timedelta | None:
        """How long the run took; ``None`` while it goes on."""
        return self.finished_at - self.invocation_datetime if self.finished_at else None

    def result_from_counters(self) -> str:
        """The result of a run that ended without an exception, from its counters."""
        if self.n_log_errors:
            return self.RESULT_ERRORS
        if self.n_log_warnings:
            return self.RESULT_WARNINGS
        return self.RESULT_OK

    def finish(self, result: str) -> bool:
        """Record the end of the run, once; return False if someone else finished it first."""
        now = timezone.now()
        updated = LaunchReport.objects.filter(pk=self.pk, finished_at=None).update(
            invocation_result=result, finished_at=now
        )
        try:
            self.refresh_from_db()
        except LaunchReport.DoesNotExist:  # the task (and its reports) were deleted meanwhile
            return False
        return bool(updated)

    def append_log(self, level: str, message: str) -> None:
        """Add one line from outside the run (e.g. who stopped it), numbered after the rest."""
        write_log_rows(self.pk, [(time.time(), level, message)])

    def get_log_lines(self) -> list[str]:
        """Every line, formatted as ``timestamp - LEVEL - message``."""
        return [log.formatted() for log in self.logs.order_by("line")]

    def read_log_lines(self, offset: int, limit: int | None = None) -> tuple[list[str], int]:
        """Return the formatted lines from ``offset`` (0-based) on, and the total count.

        Reads by line number (a keyset), so the cost does not grow with ``offset``.
        """
        logs = self.logs.filter(line__gte=max(offset, 0)).order_by("line")
        if limit is not None:
            logs = logs[:limit]
        total = LaunchReport.objects.values_list("n_log_lines", flat=True).get(pk=self.pk)
        return [log.formatted() for log in logs], total

    def log_tail(self, n_lines: int = 10) -> list[str]:
        """The last ``n_lines`` formatted lines."""
        logs = self.logs.filter(line__gte=max(self.n_log_lines - n_lines, 0)).order_by("line")
        return [log.formatted() for log in logs]

    def delete(self, *args: Any, **kwargs: Any):
        """Delete the report, then refresh the task's cached figures."""
        task = self.task
        result = super().delete(*args, **kwargs)
        task.compute_cache()
        return result


class Log(models.Model):
    """One line of a run's log; ``line`` numbers them from 0 within their report."""

    # Log rows are the hot path (100,000 a run is common), so each INSERT is kept cheap:
    # no index of its own (the unique (launch_report, line) index serves every lookup)
    # and no database-level constraint (checking it per row doubles PostgreSQL's COPY
    # time). Django still cascades deletes; rows are only ever written for a report
    # that exists, under a lock on it (see write_log_rows).
    launch_report = models.ForeignKey(
        LaunchReport,
        on_delete=models.CASCADE,
        related_name="logs",
        verbose_name=_("launch report"),
        db_index=False,
        db_constraint=False,
    )
    line = models.PositiveIntegerField(_("line"))
    timestamp = models.DateTimeField(_("timestamp"))
    level = models.CharField(_("level"), max_length=10)
    message = models.TextField(_("message"))

    class Meta:
        verbose_name = _("log line")
        verbose_name_plural = _("log lines")
        ordering = ["launch_report", "line"]
        constraints = [
            models.UniqueConstraint(fields=["launch_report", "line"], name="eztaskmanager_log_line")
        ]

    def __str__(self) -> str:
        return self.formatted()

    def formatted(self) -> str:
        """``timestamp - LEVEL - message``, the time in the current time zone."""
        return f"{timezone.localtime(self.timestamp)} - {self.level} - {self.message}"


def write_log_rows(report_id: int, rows: list[tuple[float, str, str]]) -> None:
    """Append ``(created, level, message)`` rows (``created`` in epoch seconds) to a report, numbering them and counting.

    The report row is locked while its next line numbers are taken, so lines written by
    the run and by another process (a stop request) never share a number.
    """
    from eztaskmanager.services.logstore import insert_log_rows

    if not rows:
        return
    errors = sum(1 for _t, level, _m in rows if level in ("ERROR", "CRITICAL"))
    warnings = sum(1 for _t, level, _m in rows if level == "WARNING")
    with transaction.atomic():
        start = (
            LaunchReport.objects.select_for_update()
            .values_list("n_log_lines", flat=True)
            .get(pk=report_id)
        )
        insert_log_rows(report_id, start, rows)
        LaunchReport.objects.filter(pk=report_id).update(
            n_log_lines=F("n_log_lines") + len(rows),
            n_log_errors=F("n_log_errors") + errors,
            n_log_warnings=F("n_log_warnings") + warnings,
        )
