"""Tasks: a command with its arguments and schedule, and the transitions of its status.

A task's ``status`` is a summary that only :meth:`Task.sync_status` writes, from the
truth underneath it: its runs that have not ended (:class:`LaunchReport` rows in a
queued, running or stopping state) and its schedule handle (``scheduled_job_id``).
Every transition takes the task's row lock first (:meth:`Task.locked`), so transitions
of one task happen one at a time whatever the number of workers, schedulers and web
processes; the winner of a race is decided by a conditional UPDATE on the row that
changes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager import scheduling
from eztaskmanager.arguments import InvalidArguments, parse_arguments, split_arguments
from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotRunnable
from eztaskmanager.models.commands import AppCommand, TaskCategory
from eztaskmanager.validators import is_scheduling_year, validate_scheduling_year

if TYPE_CHECKING:
    from eztaskmanager.models.reports import LaunchReport

logger = logging.getLogger(__name__)

ARGUMENTS_HELP = _(
    'Separate arguments with a comma "," and values inside one argument with a space " ", '
    "e.g. -f, --secondarg param1 param2, --thirdarg=pippo. "
    'Quote values that contain commas or spaces: --title="Hello, world".'
)
# The longest timeout a task may ask for: 30 days. Longer runs go without a timeout.
MAX_TIMEOUT = 30 * 24 * 3600
# The longest arguments text: longer input belongs in a file that the command reads.
ARGUMENTS_MAX_LENGTH = 10_000
# The largest repetition rate: what a small integer column holds on every database.
MAX_REPETITION_RATE = 32767
# A one-off scheduling this close to now counts as "now" (the admin's "Now" link, a slow
# form), not as a mistyped date in the past.
PAST_SCHEDULING_GRACE = timedelta(minutes=1)
# The fields that say what a run does and when: changing them on a task that is
# scheduled or queued changes what runs, which only users who may start tasks may do.
RUN_FIELDS = (
    "command",
    "arguments",
    "timeout",
    "scheduling",
    "repetition_period",
    "repetition_rate",
)
# How long a fired due time is remembered (see Task.claim_due).
FIRED_DUE_TIMES_KEPT = timedelta(days=2)


def _engine_timeout_limit() -> int | None:
    """The configured backend's longest timeout, if it has one (none when misconfigured)."""
    from eztaskmanager.exceptions import ConfigurationError
    from eztaskmanager.registry import get_backend

    try:
        return get_backend().max_timeout
    except ConfigurationError:
        return None


class Task(models.Model):
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

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.command_id is not None and len(self.arguments or "") <= ARGUMENTS_MAX_LENGTH:
            try:
                parse_arguments(self.command.get_command_class(), self.command.name, self.args)
            except InvalidArguments as exc:
                errors.setdefault("arguments", []).append(str(exc))
        if bool(self.repetition_period) != (self.repetition_rate is not None):
            errors.setdefault("repetition_rate", []).append(
                str(_("Set both the repetition period and rate, or neither."))
            )
        if self.is_periodic and self.scheduling is None:
            errors.setdefault("scheduling", []).append(
                str(_("A periodic task needs an initial scheduling."))
            )
        if self._is_new_one_off_in_the_past():
            errors.setdefault("scheduling", []).append(
                str(
                    _(
                        "This date is in the past: choose a future one, or clear it to run "
                        "the task when it is started."
                    )
                )
            )
        limit = _engine_timeout_limit()
        if self.timeout and limit and self.timeout > limit:
            errors.setdefault("timeout", []).append(
                str(_("The queue backend allows at most %(limit)d s.") % {"limit": limit})
            )
        if errors:
            raise ValidationError(errors)

    def _is_new_one_off_in_the_past(self) -> bool:
        """A one-off scheduling typed in the past (a periodic one moves to its next run).

        Only a new or changed scheduling counts: a task whose one-off time has come and
        gone stays editable.
        """
        if self.scheduling is None or self.is_periodic or not is_scheduling_year(self.scheduling):
            return False
        if self.scheduling >= timezone.now() - PAST_SCHEDULING_GRACE:
            return False
        if self.pk is None:
            return True
        stored = (
            Task.objects.filter(pk=self.pk)
            .values_list("scheduling", "repetition_period", "repetition_rate")
            .first()
        )
        return stored != (self.scheduling, self.repetition_period, self.repetition_rate)

    def refuse_run_changes(self, changed: list[str] | tuple[str, ...]) -> None:
        """Refuse changes to :data:`RUN_FIELDS` while a run of the task is arranged.

        For users who may not start tasks (no ``eztaskmanager.run_task``): on a task that
        is scheduled, or whose run is queued, a new command, arguments, timeout or
        schedule would be what the engine runs next, so they would make the task run
        something. Raises :class:`~django.core.exceptions.ValidationError` naming each
        refused field; anything else (name, note, category) may always change.
        """
        refused = [name for name in RUN_FIELDS if name in changed]
        if not refused or self.pk is None:
            return
        fresh = Task.objects.filter(pk=self.pk).values_list("scheduled_job_id", flat=True).first()
        if fresh:
            why = _(
                "The task is scheduled: only a user who may start tasks can change what it "
                "runs or when. Ask one to stop it, or to make this change."
            )
        elif self.active_runs().filter(state="queued").exists():
            why = _(
                "A run of the task is queued: only a user who may start tasks can change what "
                "it runs. Wait until it has started, or ask one to make this change."
            )
        else:
            return
        raise ValidationError({name: [str(why)] for name in refused})

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
        try:
            start = timezone.localtime(self.scheduling)
        except (OverflowError, ValueError):  # a date at the edge of the calendar
            start = self.scheduling
        if not self.is_periodic:
            return self.scheduling if self.scheduling > after else None
        return scheduling.next_run_after(start, self.repetition_period, self.repetition_rate, after)

    # Transitions -------------------------------------------------------------------------
    # Each one runs in its own transaction, under the task's row lock, and leaves the
    # status in step with the runs and the schedule.

    @classmethod
    def locked(cls, pk: int) -> Task | None:
        """The task read under its row lock, held until the transaction ends; ``None`` if gone.

        Must be called inside ``transaction.atomic()``. Where the database has no row
        locks (SQLite), a write takes its database-wide write lock instead.
        """
        using = router.db_for_write(cls)
        rows = cls.objects.using(using).filter(pk=pk)
        if connections[using].features.has_select_for_update:
            return rows.select_for_update().select_related("command").first()
        if not rows.update(status=F("status")):
            return None
        return rows.select_related("command").first()

    def active_runs(self) -> models.QuerySet[LaunchReport]:
        """The task's runs that have not ended: queued, running or stopping."""
        from eztaskmanager.models.reports import LaunchReport

        return LaunchReport.objects.filter(task_id=self.pk).active()

    def sync_status(self) -> str:
        """Derive the status from the runs and the schedule, and store it (under the lock)."""
        from eztaskmanager.models.reports import LaunchReport

        states = set(self.active_runs().values_list("state", flat=True))
        if states & {LaunchReport.STATE_RUNNING, LaunchReport.STATE_STOPPING}:
            status = self.STATUS_STARTED
        elif LaunchReport.STATE_QUEUED in states:
            status = self.STATUS_SPOOLED
        elif self.scheduled_job_id:
            status = self.STATUS_SCHEDULED
        else:
            status = self.STATUS_IDLE
        fields: dict[str, Any] = {"status": status}
        if not self.scheduled_job_id:
            fields["cached_next_ride"] = None
        Task.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)
        return status

    def _copy_from(self, fresh: Task) -> None:
        for name in ("status", "scheduled_job_id", "cached_next_ride"):
            setattr(self, name, getattr(fresh, name))

    def queue_run(
        self, job_id: str, timeout: int | None = None, schedule: str | None = None
    ) -> LaunchReport:
        """Record a run handed to the queue as ``job_id``; refuse a second one.

        Raises :class:`TaskAlreadyRunning` while another run is queued or going on. A run
        fired by a schedule names it (``schedule``, the handle): when the schedule was
        stopped or replaced meanwhile, :class:`TaskNotRunnable` is raised instead.
        """
        from eztaskmanager.models.reports import LaunchReport

        with transaction.atomic():
            fresh = Task.locked(self.pk)
            if fresh is None:
                raise Task.DoesNotExist(f"Task {self.pk} no longer exists.")
            if schedule is not None and fresh.scheduled_job_id != schedule:
                raise TaskNotRunnable(
                    _("%(task)s is no longer scheduled (%(handle)s).")
                    % {"task": fresh, "handle": schedule}
                )
            current = fresh.active_runs().values_list("state", flat=True).first()
            if current is not None:
                raise TaskAlreadyRunning(
                    (
                        _("%(task)s is already queued.")
                        if current == LaunchReport.STATE_QUEUED
                        else _("%(task)s is already running.")
                    )
                    % {"task": fresh}
                )
            now = timezone.now()
            report = LaunchReport.objects.create(
                task=fresh,
                state=LaunchReport.STATE_QUEUED,
                job_id=job_id,
                queued_at=now,
                invocation_datetime=now,
                timeout=timeout,
                **fresh.run_snapshot(),
            )
            fresh.sync_status()
        self._copy_from(fresh)
        return report

    def arm_schedule(self, job_id: str, next_ride: datetime | None) -> None:
        """Record the engine's handle of the task's schedule, and its next run.

        Raises :class:`TaskNotRunnable` when there is no next run (a schedule beyond the
        year 9999): a schedule that never fires would leave the task scheduled for ever.
        """
        if next_ride is None:
            raise TaskNotRunnable(
                _("%(task)s has no future run to schedule: check its scheduling.") % {"task": self}
            )
        with transaction.atomic():
            fresh = Task.locked(self.pk)
            if fresh is None:
                raise Task.DoesNotExist(f"Task {self.pk} no longer exists.")
            Task.objects.filter(pk=self.pk).update(
                scheduled_job_id=job_id, cached_next_ride=next_ride
            )
            fresh.scheduled_job_id, fresh.cached_next_ride = job_id, next_ride
            fresh.sync_status()
        self._copy_from(fresh)

    def advance_schedule(
        self, from_job_id: str, to_job_id: str, next_ride: datetime | None
    ) -> bool:
        """Move the schedule on to its next run, if it is still ``from_job_id``'s.

        Returns False (and changes nothing) when the schedule was cancelled or replaced
        meanwhile: the caller's job must then neither run nor book a successor.
        """
        with transaction.atomic():
            fresh = Task.locked(self.pk)
            if fresh is None or fresh.scheduled_job_id != from_job_id:
                return False
            Task.objects.filter(pk=self.pk).update(
                scheduled_job_id=to_job_id, cached_next_ride=next_ride
            )
            fresh.scheduled_job_id, fresh.cached_next_ride = to_job_id, next_ride
            fresh.sync_status()
        self._copy_from(fresh)
        return True

    def clear_schedule(self, job_id: str | None = None) -> bool:
        """Forget the schedule (only if it is still ``job_id``, when given); return whether it did."""
        with transaction.atomic():
            fresh = Task.locked(self.pk)
            if fresh is None or (job_id is not None and fresh.scheduled_job_id != job_id):
                return False
            Task.objects.filter(pk=self.pk).update(scheduled_job_id="", cached_next_ride=None)
            fresh.scheduled_job_id, fresh.cached_next_ride = "", None
            fresh.sync_status()
        self._copy_from(fresh)
        return True

    def claim_due(self, due: datetime) -> bool:
        """Claim one due time of the schedule: True for the first caller, False for any other.

        The database decides (a unique row per task and due time), so a due time fires
        once however many schedulers, re-armed jobs or restarts see it.
        """
        from eztaskmanager.models.schedules import FiredDueTime

        try:
            with transaction.atomic():
                FiredDueTime.objects.create(task_id=self.pk, due_at=due)
        except IntegrityError:
            logger.info("Task %s: due time %s was fired already.", self.pk, due.isoformat())
            return False
        FiredDueTime.objects.filter(task_id=self.pk, due_at__lt=due - FIRED_DUE_TIMES_KEPT).delete()
        return True

    def release_due(self, due: datetime) -> bool:
        """Give back a claimed due time whose run could not be handed to the engine.

        Only for a claim that surely led to no run (the engine refused it): a later fire
        of that due time may then claim it again.
        """
        from eztaskmanager.models.schedules import FiredDueTime

        with transaction.atomic():
            if Task.locked(self.pk) is None:
                return False
            deleted, _details = FiredDueTime.objects.filter(task_id=self.pk, due_at=due).delete()
        return bool(deleted)

    # Cached figures ------------------------------------------------------------------------
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
