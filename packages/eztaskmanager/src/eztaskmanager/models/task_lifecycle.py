"""The transitions of a task: its runs queued, its schedule armed, moved on and cleared.

A task's ``status`` is a summary that only :meth:`TaskLifecycle.status_write` writes
(through :meth:`~TaskLifecycle.sync_status`, or with a run's own UPDATE), from the truth
underneath it: its runs that have not ended (reports in a queued, running or
stopping state) and its schedule handle (``scheduled_job_id``). Every transition takes
the task's row lock first (:meth:`TaskLifecycle.locked`), so transitions of one task
happen one at a time whatever the number of workers, schedulers and web processes; the
winner of a race is decided by a conditional UPDATE on the row that changes.

:class:`TaskLifecycle` is a base class of :class:`~eztaskmanager.models.Task`: its methods
are the task's.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager import audit
from eztaskmanager.exceptions import TaskAlreadyRunning, TaskNotRunnable
from eztaskmanager.models.compiled import (
    INT_MARKERS,
    CompiledRead,
    insert_row,
    touch_row,
    update_write,
)
from eztaskmanager.models.logs import LogColumns, insert_locked
from eztaskmanager.models.schedules import FiredDueTime
from eztaskmanager.models.states import QUEUED, STARTED
from eztaskmanager.models.writes import Write, write_together
from eztaskmanager.origins import CODE, SCHEDULE, Origin

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger(__name__)

# How long a fired due time is remembered (see claim_due).
FIRED_DUE_TIMES_KEPT = timedelta(days=2)
# Task.locked's reads, by the facts they read beside the task (and REPORTS_KEPT).
_LOCKED_READS: dict[tuple[tuple[str, ...], int], CompiledRead] = {}


# sync_status's read of what the task's runs are doing, by model (the Task).
_ACTIVE_KINDS: dict[type, CompiledRead] = {}


def active_kinds(runs: models.QuerySet) -> dict[str, Exists]:
    """Whether ``runs`` hold a started run (``has_started``) and a queued one
    (``has_queued``): annotations for a read under the task's lock."""
    return {
        "has_started": Exists(runs.filter(state__in=STARTED)),
        "has_queued": Exists(runs.filter(state=QUEUED)),
    }


def active_states_from(has_started: bool, has_queued: bool) -> set[str]:
    """The states :meth:`TaskLifecycle.status_write` takes, from what :func:`active_kinds`
    read (``running`` standing for every started state)."""
    states = {STARTED[0]} if has_started else set()
    if has_queued:
        states.add(QUEUED)
    return states


class TaskLifecycle:
    """The transitions of :class:`~eztaskmanager.models.Task` (see the module's docstring).

    Each one runs in its own transaction, under the task's row lock, and leaves the
    status in step with the runs and the schedule.
    """

    @classmethod
    def locked(cls, pk: int, *facts: str, kept: int = 0) -> Self | None:
        """The task read under its row lock, held until the transaction ends; ``None`` if gone.

        Must be called inside ``transaction.atomic()``. Where the database has no row
        locks (SQLite), a write takes its database-wide write lock instead. ``facts``:
        what is read in the same statement, by name, as attributes of the task:

        - ``active_state``: the state of its latest run that has not ended (``None``: none);
        - ``has_followers``: whether a task follows it;
        - ``report_past_kept``: the id of its newest report but the ``kept`` newest
          (``None``: nothing to prune).

        They are read as of the statement's start, so what another transaction wrote
        while this one waited for the lock is not among them.
        """
        using = router.db_for_write(cls)
        no_row_locks = not connections[using].features.has_select_for_update
        if no_row_locks and not touch_row(cls, pk, "status", using):
            return None
        return cls.locked_read(*facts, kept=kept).first(using, pk=pk)

    @classmethod
    def locked_read(cls, *facts: str, kept: int = 0) -> CompiledRead:
        """The read :meth:`locked` makes with these ``facts``, compiled once per connection."""
        key = (facts, kept)
        read = _LOCKED_READS.get(key)
        if read is None:
            read = _LOCKED_READS[key] = CompiledRead(
                lambda using, pk: cls._locked_rows(using, pk, facts, kept), pk=INT_MARKERS[0]
            )
        return read

    @classmethod
    def _locked_rows(
        cls, using: str, pk: int, facts: tuple[str, ...], kept: int
    ) -> models.QuerySet:
        """The queryset :meth:`locked` runs (compiled once per connection)."""
        runs = cls._meta.get_field("launchreport").related_model.objects.filter(task=OuterRef("pk"))
        expressions = {
            "active_state": lambda: Subquery(
                runs.active().order_by("-invocation_datetime").values("state")[:1]
            ),
            "has_followers": lambda: Exists(cls.objects.filter(follows=OuterRef("pk"))),
            "report_past_kept": lambda: Subquery(
                runs.order_by("-invocation_datetime").values("pk")[kept : kept + 1]
            ),
        }
        rows = (
            cls.objects.using(using)
            .filter(pk=pk)
            .select_related("command")
            .annotate(**{name: expressions[name]() for name in facts})
        )
        features = connections[using].features
        if not features.has_select_for_update:
            return rows
        # Only the task's row: two tasks of one command never wait for each other.
        return rows.select_for_update(of=("self",) if features.has_select_for_update_of else ())

    @classmethod
    def active_kinds_read(cls) -> CompiledRead:
        """The read of :meth:`_active_kinds`, compiled once per connection."""
        read = _ACTIVE_KINDS.get(cls)
        if read is None:
            read = _ACTIVE_KINDS[cls] = CompiledRead(cls._active_kinds, pk=INT_MARKERS[0])
        return read

    @classmethod
    def _active_kinds(cls, using: str, pk: int) -> models.QuerySet:
        """Whether the task has a started run, and a queued one, read after its lock was
        taken: a run queued while the caller waited for it is among them."""
        runs = cls._meta.get_field("launchreport").related_model.objects.filter(task=OuterRef("pk"))
        return (
            cls.objects.using(using)
            .filter(pk=pk)
            .annotate(**active_kinds(runs))
            .values_list("has_started", "has_queued")
        )

    def active_runs(self) -> models.QuerySet:
        """The task's runs that have not ended: queued, running or stopping."""
        return self.launchreport_set.active()

    def stored_schedule(self) -> str:
        """The schedule's handle as stored now (another process may have changed it)."""
        stored = type(self).objects.filter(pk=self.pk).values_list("scheduled_job_id", flat=True)
        return stored.first() or ""

    def refuse_inactive_command(self) -> None:
        """Raise :class:`TaskNotRunnable` when the task's command is not active."""
        if not self.command.active:
            raise TaskNotRunnable(
                _("The command %(command)s is not active.") % {"command": self.command}
            )

    def refuse_second_run(self) -> None:
        """Raise :class:`TaskAlreadyRunning` while a run of the task is queued or going on."""
        self._refuse_active(self._latest_active_state())

    def _latest_active_state(self) -> str | None:
        """The state of the task's latest run that has not ended; ``None`` if there is none."""
        return self.active_runs().values_list("state", flat=True).first()

    def _refuse_active(self, current: str | None) -> None:
        if current is not None:
            message = (
                _("%(task)s is already queued.")
                if current == QUEUED
                else _("%(task)s is already running.")
            )
            raise TaskAlreadyRunning(message % {"task": self})

    def _locked_active_state(self) -> str | None:
        """The state of the task's latest run that has not ended, for a task read by
        ``locked(pk, "active_state")``.

        That statement read the runs as they were before it waited for the lock; a run
        queued or started meanwhile shows in the row it locked (the status every such
        transition stores under the lock), and the runs are then read again.
        """
        if self.active_state is None and self.status in (self.STATUS_SPOOLED, self.STATUS_STARTED):
            return self._latest_active_state()
        return self.active_state

    def sync_status(
        self, active_states: set[str] | None = None, also: dict[str, Any] | None = None
    ) -> str:
        """Derive the status from the runs and the schedule, and store it (under the lock).

        ``active_states``: the states of the task's runs that have not ended, when the
        caller knows them under the lock (one query less); read from the runs otherwise.
        ``also``: other fields of the task to store in the same UPDATE.
        """
        using = router.db_for_write(type(self))
        if active_states is None:
            kinds = self.active_kinds_read().first(using, pk=self.pk) or (False, False)
            active_states = active_states_from(*kinds)
        write_together(using, [self.status_write(active_states, also)])
        return self.status

    def status_write(
        self, active_states: set[str], also: dict[str, Any] | None = None
    ) -> Write | None:
        """The UPDATE :meth:`sync_status` runs, for runs in ``active_states``, to run with
        the caller's other writes (under the lock); the instance takes its values now."""
        if active_states & set(STARTED):
            status = self.STATUS_STARTED
        elif QUEUED in active_states:
            status = self.STATUS_SPOOLED
        elif self.scheduled_job_id:
            status = self.STATUS_SCHEDULED
        else:
            status = self.STATUS_IDLE
        fields: dict[str, Any] = {**(also or {}), "status": status}
        if not self.scheduled_job_id:
            fields["cached_next_ride"] = None
        for name, value in fields.items():
            setattr(self, name, value)
        return update_write(type(self), {"pk": self.pk}, fields)

    def _copy_from(self, fresh: Self) -> None:
        for name in ("status", "scheduled_job_id", "cached_next_ride", "scheduled_by_id"):
            setattr(self, name, getattr(fresh, name))

    def _fresh(self, *facts: str) -> Self:
        """The task under its row lock (inside a transaction); ``Task.DoesNotExist`` if gone."""
        fresh = self.locked(self.pk, *facts)
        if fresh is None:
            raise type(self).DoesNotExist(f"Task {self.pk} no longer exists.")
        return fresh

    def queue_run(
        self,
        job_id: str,
        timeout: int | None = None,
        schedule: str | None = None,
        retry_of: models.Model | None = None,
        not_before: datetime | None = None,
        by: Origin | None = None,
        *,
        arguments: str | None = None,
        note: str = "",
        audit_detail: str | None = None,
    ) -> models.Model:
        """Record a run handed to the queue as ``job_id`` (its queued report); refuse a second one.

        Raises :class:`TaskAlreadyRunning` while another run is queued or going on. A run
        fired by a schedule names it (``schedule``, the handle): when the schedule was
        stopped or replaced meanwhile, :class:`TaskNotRunnable` is raised instead. A retry
        names the attempt that failed (``retry_of``) and when it is due (``not_before``).
        ``by``: who or what started it (default: code; a schedule's run, when ``schedule``
        is given). ``arguments``: the run's own, instead of the task's ("Run now with...");
        ``note``: its first log line (why it started).

        With ``audit_detail`` (``""`` for none) the start goes in the audit trail, in the
        same transaction: the trail has it exactly when the run was queued, and a start
        costs one commit, not two. Should that write fail, the run is queued again
        without it (:func:`eztaskmanager.audit.record_or_raise`).
        """
        try:
            with transaction.atomic():
                # The lock and the run that would block this one, in one statement.
                fresh = self._fresh("active_state")
                if schedule is not None and fresh.scheduled_job_id != schedule:
                    raise TaskNotRunnable(
                        _("%(task)s is no longer scheduled (%(handle)s).")
                        % {"task": fresh, "handle": schedule}
                    )
                fresh._refuse_active(fresh._locked_active_state())
                if by is None and schedule is not None:
                    origin, started_by_id = Origin(SCHEDULE), fresh.scheduled_by_id
                else:
                    origin = by or Origin()
                    started_by_id = origin.user_id
                report = fresh._create_queued_run(
                    job_id,
                    timeout,
                    retry_of,
                    not_before,
                    origin.source,
                    started_by_id,
                    arguments=arguments,
                    lines=1 if note else 0,
                )
                if note:
                    insert_locked(report.pk, 0, LogColumns([time.time()], ["INFO"], [note]))
                # No other run is active (refused above): this queued one is the only one.
                fresh.sync_status(active_states={QUEUED})
                if audit_detail is not None:
                    audit.record_or_raise(audit.STARTED, fresh, origin, report, audit_detail)
        except audit.NotRecorded:
            return self.queue_run(
                job_id, timeout, schedule, retry_of, not_before, by, arguments=arguments, note=note
            )
        self._copy_from(fresh)
        return report

    def _create_queued_run(
        self,
        job_id: str,
        timeout: int | None,
        retry_of: Any = None,
        not_before: datetime | None = None,
        origin: str = CODE,
        started_by_id: int | None = None,
        *,
        arguments: str | None = None,
        lines: int = 0,
    ) -> models.Model:
        """The report of a run handed to the queue as ``job_id`` (under the lock), started
        through ``origin`` by the user ``started_by_id``, with its own ``arguments`` if
        given, and counting the ``lines`` its caller writes next."""
        now = timezone.now()
        attempt = {}
        if retry_of is not None:
            attempt = {
                "attempt": retry_of.attempt + 1,
                "first_attempt_id": retry_of.first_attempt_id or retry_of.pk,
                "not_before": not_before,
            }
        report_model = self.launchreport_set.model
        report = report_model(
            task=self,
            state=QUEUED,
            job_id=job_id,
            queued_at=now,
            invocation_datetime=not_before or now,
            timeout=timeout,
            origin=origin,
            started_by_id=started_by_id,
            n_log_lines=lines,
            **attempt,
            **self.run_snapshot(),
        )
        if arguments is not None:
            report.arguments, report.custom_arguments = arguments, True
        # The database the task's related manager would write to.
        return insert_row(report, using=router.db_for_write(report_model, instance=self))

    def arm_schedule(
        self, job_id: str, next_ride: datetime | None, by: Origin | None = None
    ) -> None:
        """Record the engine's handle of the task's schedule, and its next run; and who
        armed it (``by``'s user; when none, the schedule keeps the one it had).

        Raises :class:`TaskNotRunnable` when there is no next run (a schedule beyond the
        year 9999): a schedule that never fires would leave the task scheduled for ever.
        """
        if next_ride is None:
            raise TaskNotRunnable(
                _("%(task)s has no future run to schedule: check its scheduling.") % {"task": self}
            )
        with transaction.atomic():
            fresh = self._fresh()
            also = {}
            if by is not None and by.user is not None:
                also["scheduled_by_id"] = by.user_id
            fresh._set_schedule(job_id, next_ride, also=also)
        self._copy_from(fresh)

    def advance_schedule(
        self, from_job_id: str, to_job_id: str, next_ride: datetime | None
    ) -> bool:
        """Move the schedule on to its next run, if it is still ``from_job_id``'s.

        Returns False (and changes nothing) when the schedule was cancelled or replaced
        meanwhile: the caller's job must then neither run nor book a successor.
        """
        with transaction.atomic():
            fresh = self.locked(self.pk)
            if fresh is None or fresh.scheduled_job_id != from_job_id:
                return False
            fresh._set_schedule(to_job_id, next_ride)
        self._copy_from(fresh)
        return True

    def clear_schedule(self, job_id: str | None = None) -> bool:
        """Forget the schedule (only if it is still ``job_id``, when given); return whether it did."""
        with transaction.atomic():
            fresh = self.locked(self.pk)
            if fresh is None or (job_id is not None and fresh.scheduled_job_id != job_id):
                return False
            fresh._set_schedule("", None)
        self._copy_from(fresh)
        return True

    def _set_schedule(
        self,
        job_id: str,
        next_ride: datetime | None,
        active_states: set[str] | None = None,
        also: dict[str, Any] | None = None,
    ) -> None:
        """Store the schedule's handle and next run, and the status that follows (under the
        lock), in one UPDATE (with the fields in ``also``)."""
        self.scheduled_job_id, self.cached_next_ride = job_id, next_ride
        schedule = {**(also or {}), "scheduled_job_id": job_id, "cached_next_ride": next_ride}
        self.sync_status(active_states, also=schedule)

    def claim_due(self, due: datetime) -> bool:
        """Claim one due time of the schedule: True for the first caller, False for any other.

        The database decides (a unique row per task and due time), so a due time fires
        once however many schedulers, re-armed jobs or restarts see it.
        """
        try:
            with transaction.atomic():
                self._claim(due)
        except IntegrityError:
            logger.info("Task %s: due time %s was fired already.", self.pk, due.isoformat())
            return False
        return True

    def _claim(self, due: datetime) -> None:
        """Insert the due time's row (IntegrityError if it is there), and forget old ones."""
        FiredDueTime.objects.create(task_id=self.pk, due_at=due)
        FiredDueTime.objects.filter(task_id=self.pk, due_at__lt=due - FIRED_DUE_TIMES_KEPT).delete()

    def fire_due(
        self,
        due: datetime,
        schedule: str,
        next_ride: datetime | None,
        job_id: str,
        timeout: int | None = None,
    ) -> tuple[bool, models.Model | None]:
        """Fire one due time of the schedule ``schedule``: claim it, move the schedule on to
        ``next_ride`` and record its run as queued, as ``job_id``.

        For a scheduler that read the task under its row lock (:meth:`locked`) and checked
        that the schedule is still ``schedule``, in the same transaction: the three steps
        are one, in a few statements and one UPDATE of the task. Returns (claimed, the
        queued report): (False, None) when the due time was claimed already, and then
        the caller's transaction is marked for rollback (end it, query nothing more);
        (True, None) when a run of the task is still going on, the due time skipped and
        the schedule moved on all the same.
        """
        try:
            # No savepoint: a claim lost ends the whole transaction, which wrote nothing yet.
            with transaction.atomic(savepoint=False):
                self._claim(due)
        except IntegrityError:
            logger.info("Task %s: due time %s was fired already.", self.pk, due.isoformat())
            return False, None
        active = set(self.active_runs().values_list("state", flat=True))
        report = None
        if not active:
            report = self._create_queued_run(
                job_id, timeout, origin=SCHEDULE, started_by_id=self.scheduled_by_id
            )
            active = {QUEUED}
        self._set_schedule(schedule, next_ride, active_states=active)
        return True, report

    def release_due(self, due: datetime) -> bool:
        """Give back a claimed due time whose run could not be handed to the engine.

        Only for a claim that surely led to no run (the engine refused it): a later fire
        of that due time may then claim it again.
        """
        with transaction.atomic():
            if self.locked(self.pk) is None:
                return False
            deleted, _details = FiredDueTime.objects.filter(task_id=self.pk, due_at=due).delete()
        return bool(deleted)
