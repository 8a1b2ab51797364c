"""Tasks: a command with its arguments and schedule, the task manager's unit of work.

What a task may ask for, and its ``clean()``, are :mod:`~eztaskmanager.models.task_rules`;
how its status changes (runs queued, schedules armed), :mod:`~eztaskmanager.models.task_lifecycle`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from datetime import timezone as dt_timezone
from functools import cache
from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager import scheduling
from eztaskmanager.arguments import parse_arguments, split_arguments
from eztaskmanager.models.commands import AppCommand, TaskCategory
from eztaskmanager.models.indexes import NullsLastIndex
from eztaskmanager.models.task_lifecycle import TaskLifecycle
from eztaskmanager.models.task_rules import (
    ARGUMENTS_MAX_LENGTH,
    MAX_REPETITION_RATE,
    MAX_RETRIES,
    MAX_RETRY_BACKOFF,
    MAX_RETRY_DELAY,
    MAX_TIMEOUT,
    TaskRules,
)
from eztaskmanager.models.writes import Write
from eztaskmanager.validators import validate_scheduling_year

ARGUMENTS_HELP = _(
    'Separate arguments with a comma "," and values inside one argument with a space " ", '
    "e.g. -f, --secondarg param1 param2, --thirdarg=pippo. "
    'Quote values that contain commas or spaces: --title="Hello, world".'
)
# The fields that say when the task runs, what, and where: a schedule that is armed is
# booked again when one of them is saved with a new value (see schedule_changes()).
SCHEDULE_FIELDS = (
    "scheduling",
    "repetition_period",
    "repetition_rate",
    "command",
    "arguments",
    "queue",
    "cron",
)
# When a task that follows another starts: after an OK run of it, or after any run.
FOLLOWS_ON_OK = "ok"
FOLLOWS_ON_ANY = "any"
FOLLOWS_ON_CHOICES = (
    (FOLLOWS_ON_OK, _("it ends OK")),
    (FOLLOWS_ON_ANY, _("it ends, whatever its result")),
)
# Those whose new value books a schedule that is not armed, for a user who may start
# tasks (a stopped schedule stays stopped when only its command or arguments change).
ARMING_FIELDS = ("scheduling", "repetition_period", "repetition_rate", "cron")


class Task(TaskRules, TaskLifecycle, models.Model):
    """A management command with its arguments, that can be started now, later or periodically."""

    STATUS_IDLE = "idle"
    STATUS_SPOOLED = "spooled"
    STATUS_SCHEDULED = "scheduled"
    STATUS_STARTED = "started"
    STATUS_CHOICES = (
        (STATUS_IDLE, _("Idle")),
        (STATUS_SPOOLED, _("Queued")),
        (STATUS_SCHEDULED, _("Scheduled")),
        (STATUS_STARTED, _("Running")),
    )

    REPETITION_PERIOD_MINUTE = scheduling.MINUTE
    REPETITION_PERIOD_HOUR = scheduling.HOUR
    REPETITION_PERIOD_DAY = scheduling.DAY
    REPETITION_PERIOD_WEEK = scheduling.WEEK
    REPETITION_PERIOD_MONTH = scheduling.MONTH
    REPETITION_PERIOD_CHOICES = (
        (REPETITION_PERIOD_MINUTE, _("minutes")),
        (REPETITION_PERIOD_HOUR, _("hours")),
        (REPETITION_PERIOD_DAY, _("days")),
        (REPETITION_PERIOD_WEEK, _("weeks")),
        (REPETITION_PERIOD_MONTH, _("months")),
    )

    name = models.CharField(_("name"), max_length=255)
    command = models.ForeignKey(
        AppCommand,
        on_delete=models.CASCADE,
        limit_choices_to={"active": True},
        verbose_name=_("command"),
    )
    arguments = models.TextField(
        _("arguments"),
        blank=True,
        help_text=ARGUMENTS_HELP,
        validators=[MaxLengthValidator(ARGUMENTS_MAX_LENGTH)],
    )
    secret_arguments = models.TextField(
        _("secret arguments"),
        blank=True,
        help_text=_(
            "Arguments passed after the others, in the same syntax, that are never shown: "
            "not in the admin, the log viewer, notifications or the API (shown as ***)."
        ),
        validators=[MaxLengthValidator(ARGUMENTS_MAX_LENGTH)],
    )
    protected = models.BooleanField(
        _("protected"),
        default=False,
        help_text=_("Start asks for a confirmation that names the command and its arguments."),
    )
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
    scheduling = models.DateTimeField(
        _("initial scheduling"), null=True, blank=True, validators=[validate_scheduling_year]
    )
    repetition_period = models.CharField(
        _("repetition period"), max_length=20, choices=REPETITION_PERIOD_CHOICES, blank=True
    )
    repetition_rate = models.PositiveSmallIntegerField(
        _("repetition rate"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REPETITION_RATE)],
    )
    cron = models.CharField(
        _("cron expression"),
        max_length=255,
        blank=True,
        help_text=_(
            "Instead of a repetition: five fields, minute hour day-of-month month "
            "day-of-week, on the site's clock; e.g. 30 2 * * 1-5 runs at 02:30 on weekdays."
        ),
    )
    timeout = models.PositiveIntegerField(
        _("timeout"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT)],
        help_text=_(
            "Seconds a run may last before it is stopped and fails (at most 30 days); "
            "empty: the backend's default."
        ),
    )
    # Retries of a failed run, and how long a queued run may wait for a worker.
    retries = models.PositiveSmallIntegerField(
        _("retries"),
        default=0,
        validators=[MaxValueValidator(MAX_RETRIES)],
        help_text=_(
            "How many times a failed run (an exception, a timeout, a lost worker) is tried "
            "again; 0: never."
        ),
    )
    retry_delay = models.PositiveIntegerField(
        _("retry delay"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETRY_DELAY)],
        help_text=_("Seconds before the first retry."),
    )
    retry_backoff = models.PositiveSmallIntegerField(
        _("retry backoff"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETRY_BACKOFF)],
        help_text=_("Each retry waits this many times longer than the one before (1: as long)."),
    )
    queued_ttl = models.PositiveIntegerField(
        _("time to live"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT)],
        help_text=_(
            "Seconds a queued run may wait for a worker: one that could not start in time is "
            "dropped, not run late. Empty: it waits as long as it takes."
        ),
    )
    queue = models.CharField(
        _("queue"),
        max_length=255,
        blank=True,
        help_text=_(
            "The queue the task's runs go to, so that the workers listening on it run them; "
            "empty: the backend's default queue."
        ),
    )
    # Chains: the task starts when the task it follows ends (on OK, or on any result).
    follows = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followers",
        verbose_name=_("starts after"),
        help_text=_("Start this task each time that task ends, as its result allows."),
    )
    follows_on = models.CharField(
        _("when it ends"),
        max_length=10,
        choices=FOLLOWS_ON_CHOICES,
        default=FOLLOWS_ON_OK,
        blank=True,
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("scheduled by"),
        help_text=_("Who armed the schedule: its runs are started on their behalf."),
    )
    scheduled_job_id = models.CharField(
        _("scheduled job id"),
        max_length=255,
        blank=True,
        editable=False,
        help_text=_("The queue engine's handle of the task's schedule; empty when unscheduled."),
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
        app_label = "eztaskmanager"
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = [F("cached_last_invocation_datetime").desc(nulls_last=True), "name"]
        permissions = [("run_task", _("Can start and stop tasks"))]
        indexes = [
            models.Index(
                fields=["-cached_last_invocation_datetime"], name="eztm_task_last_run_idx"
            ),
            # The default order as the admin's list asks for it (with its tie-breaker, the
            # id): a page of the list, and the API's, is read without sorting every task.
            NullsLastIndex(
                F("cached_last_invocation_datetime").desc(nulls_last=True),
                "name",
                F("id").desc(),
                name="eztm_task_list_order_idx",
            ),
            # The armed schedules by next run: a scheduler reads the few that are due,
            # and the next one, without reading them all.
            models.Index(
                fields=["cached_next_ride"],
                condition=~Q(scheduled_job_id=""),
                name="eztm_task_armed_next_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._remember_schedule()

    # The schedule fields are remembered as last read from, or written to, the database:
    # a save compares them with what it writes, to tell whether the schedule changed.
    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Task:
        task = super().from_db(db, field_names, values)
        task._remember_schedule()
        return task

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember_schedule()

    # Schedule changes -----------------------------------------------------------------------
    def _remember_schedule(self) -> None:
        # On every task read: a look for lost schedules reads thousands at a time.
        values = self.__dict__
        self._stored_schedule = {
            name: values.get(attname) for name, attname in self._schedule_attnames().items()
        }

    def _schedule_value(self, name: str) -> Any:
        return self.__dict__.get(self._schedule_attnames()[name])

    @classmethod
    @cache
    def _schedule_attnames(cls) -> dict[str, str]:
        """Each schedule field's attribute (``command_id`` for ``command``), looked up once."""
        return {name: cls._meta.get_field(name).attname for name in SCHEDULE_FIELDS}

    def schedule_changes(self, fields: Iterable[str] | None = None) -> set[str]:
        """The schedule fields (among ``fields``, default all) whose value differs from the
        database's as last read or written; all that are set for a task never saved."""
        stored = self.__dict__.get("_stored_schedule")
        names = set(SCHEDULE_FIELDS) if fields is None else set(SCHEDULE_FIELDS) & set(fields)
        if stored is None:
            return {name for name in names if self._schedule_value(name) not in (None, "")}
        return {name for name in names if self._schedule_value(name) != stored[name]}

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

    def run_snapshot(self) -> dict[str, str]:
        """The command and arguments a run of the task runs with, as a report keeps them."""
        return {
            "command_app_name": self.command.app_name,
            "command_name": self.command.name,
            "arguments": self.arguments,
        }

    @property
    def options(self) -> dict[str, Any]:
        """The options the arguments set, as the command's parser reads them."""
        return parse_arguments(self.command.get_command_class(), self.command.name, self.args)

    # Scheduling ------------------------------------------------------------------------
    @property
    def is_periodic(self) -> bool:
        """A task is periodic when it has a cron expression, or both a repetition period and rate."""
        return bool(self.cron or (self.repetition_period and self.repetition_rate))

    @property
    def scheduling_utc(self) -> datetime | None:
        """The initial scheduling in UTC."""
        return self.scheduling.astimezone(dt_timezone.utc) if self.scheduling else None

    @property
    def interval_in_seconds(self) -> int | None:
        """Seconds between runs; ``None`` when not periodic, or for months (not a fixed length)."""
        if not self.is_periodic or self.cron:
            return None
        return scheduling.period_seconds(self.repetition_period, self.repetition_rate)

    def is_scheduled_later(self, now: datetime | None = None) -> bool:
        """Whether starting this task means scheduling it rather than running it now."""
        now = now or timezone.now()
        return self.is_periodic or (self.scheduling is not None and self.scheduling > now)

    def next_run_after(self, after: datetime | None = None) -> datetime | None:
        """The first run after ``after`` (default: now) the task's fields ask for, if any."""
        after = after or timezone.now()
        if self.cron:
            # On the site's wall clock, from the first scheduling if there is one.
            zone = timezone.get_default_timezone()
            start = self.scheduling or after
            try:
                start = timezone.localtime(start, zone)
            except (OverflowError, ValueError):  # a date at the edge of the calendar
                return None
            return scheduling.next_cron_run_after(self.cron, start, after)
        if self.scheduling is None:
            return None
        try:
            start = timezone.localtime(self.scheduling)
        except (OverflowError, ValueError):  # a date at the edge of the calendar
            start = self.scheduling
        if not self.is_periodic:
            return self.scheduling if self.scheduling > after else None
        return scheduling.next_run_after(start, self.repetition_period, self.repetition_rate, after)

    # Cached figures ------------------------------------------------------------------------
    def compute_cache(self) -> None:
        """Copy the last finished report's figures onto the task, for fast lists."""
        report = (
            self.launchreport_set.exclude(finished_at=None).order_by("-invocation_datetime").first()
        )
        figures = last_run_figures(report)
        for name, value in figures.items():
            setattr(self, name, value)
        self.save(update_fields=list(figures))

    def end_write(self, report: Any, active_states: set[str]) -> Write | None:
        """After ``report`` ended, under the lock: the UPDATE of the status and the last-run
        figures, to run with the run's own (``active_states``: those of the task's other
        runs that have not ended).

        The figures are those of the newest finished run by start time, as
        :meth:`compute_cache` reads them; a run that ends after a newer one ended (an
        orphan declared lost late) leaves them as they are.
        """
        newest = self.cached_last_invocation_datetime
        if newest is not None and report.invocation_datetime < newest:
            return self.status_write(active_states)
        return self.status_write(active_states, also=last_run_figures(report))

    def prune_reports(self, n: int = 5) -> int:
        """Delete all the task's finished reports but the latest ``n``; return how many went.

        A run that has not ended is never deleted.
        """
        newest = self.launchreport_set.order_by("-invocation_datetime").values_list("pk", flat=True)
        keep = list(newest[: n + 1])
        if len(keep) <= n:  # the usual case: nothing to delete, one query spent
            return 0
        deleted, _details = (
            self.launchreport_set.exclude(pk__in=keep[:n]).exclude(finished_at=None).delete()
        )
        return deleted


def last_run_figures(report: Any) -> dict[str, Any]:
    """The task's cached fields for its last finished run ``report`` (``None``: none)."""
    return {
        "cached_last_report": report,
        "cached_last_invocation_datetime": report.invocation_datetime if report else None,
        "cached_last_invocation_result": report.invocation_result if report else "",
        "cached_last_invocation_n_errors": report.n_log_errors if report else 0,
        "cached_last_invocation_n_warnings": report.n_log_warnings if report else 0,
    }
