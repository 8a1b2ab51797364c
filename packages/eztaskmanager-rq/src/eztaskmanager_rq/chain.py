"""The schedules of the rq backend: a chain of one-off rq-scheduler jobs, one per due time.

A schedule is one rq-scheduler job for its next due time, calling
:func:`eztaskmanager_rq.jobs.run_scheduled_task`; when a worker takes it, the job moves
the schedule on to a new job for the following due time (:meth:`ScheduleChain.continue_schedule`),
then runs the command. The task's ``scheduled_job_id`` names the one job of the chain that
may run. Due times come from the task's fields (:mod:`eztaskmanager_rq.occurrences`), so
a chain that Redis lost is booked again from the database alone (:meth:`ScheduleChain.rearm`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from eztaskmanager.models import FiredDueTime, Task
from eztaskmanager.services.queues import JobState, ScheduleHandle, TaskNotRunnable
from eztaskmanager_rq import compat
from eztaskmanager_rq.occurrences import (
    due_to_book_again,
    following,
    occurrence_meta,
    schedule_job_id,
    scheduled_at,
    whole_second,
)

logger = logging.getLogger(__name__)

RUN_SCHEDULED_TASK = "eztaskmanager_rq.jobs.run_scheduled_task"
S = compat.JobStatus
# Statuses of a schedule's job that holds the schedule once rq-scheduler moved it to its
# queue: it waits for a worker, or runs (and books its successor).
HELD_OUT_OF_SET = (S.QUEUED.value, S.DEFERRED.value, S.STARTED.value)
# Tasks whose schedule one script call judges (it holds Redis for about a millisecond).
LOST_BATCH = 1000
# KEYS: rq-scheduler's set, then each job's hash; ARGV: how many held statuses, those
# statuses, then each job id. Returns the (1-based) positions of the lost schedules.
LOST_SCRIPT = """
local held_count = tonumber(ARGV[1])
local held = {}
for i = 2, held_count + 1 do held[ARGV[i]] = true end
local lost = {}
for i = 2, #KEYS do
  local id = ARGV[held_count + i]
  local status = redis.call('HGET', KEYS[i], 'status')
  local kept = status and (redis.call('ZSCORE', KEYS[1], id) or held[status])
  if not kept then lost[#lost + 1] = i - 1 end
end
return lost
"""


class ScheduleChain:
    """The schedule hooks of :class:`~eztaskmanager_rq.backend.RQBackend`, mixed into it.

    They use the backend's Redis access (:class:`~eztaskmanager_rq.connection.RedisAccess`),
    and its ``cancel(job_id)``, ``job_state(job_id)``, ``job_timeout(task)``,
    ``task_queue(task)`` and ``result_ttl``. Every queue a task may name is on the
    backend's Redis, so one rq-scheduler set and one look at the job hashes hold them all.
    """

    def new_schedule_id(self, task: Task) -> str:
        return schedule_job_id()

    def schedule(self, task: Task) -> None:
        """Book the job ``task.scheduled_job_id`` (the core armed it already) at the first due time."""
        due = task.next_run_after()
        if due is None:
            raise TaskNotRunnable(
                _("%(task)s has no future run to schedule: set its scheduling.") % {"task": task}
            )
        self.book(task, task.scheduled_job_id, whole_second(due))

    def unschedule(self, task: Task) -> None:
        self.cancel(task.scheduled_job_id)

    def book(self, task: Task, job_id: str, due: datetime) -> compat.Job:
        """Put the rq-scheduler job ``job_id`` that runs ``task`` for ``due`` (at once if past)."""
        at = max(due, whole_second(timezone.now()))
        return self.book_job(
            task,
            job_id,
            at,
            RUN_SCHEDULED_TASK,
            "scheduled",
            _("schedule %(task)s") % {"task": task},
            meta=occurrence_meta(task, due),
        )

    def book_job(
        self,
        task: Task,
        job_id: str,
        at: datetime,
        function: str,
        kind: str,
        doing: str,
        meta: dict[str, Any] | None = None,
    ) -> compat.Job:
        """Put the rq-scheduler job ``job_id`` calling ``function`` for ``task`` at ``at``
        (a due time, or a retry); ``doing`` names the action in a Redis error."""
        with self.reaching_redis(doing):
            return self.scheduler.enqueue_at(
                at,
                function,
                task.pk,
                job_id=job_id,
                # rqscheduler moves the job to this queue when it is due.
                queue_name=self.task_queue(task),
                timeout=self.job_timeout(task),
                job_result_ttl=self.result_ttl,
                job_description=f"eztaskmanager: {task.name} (task {task.pk}, {kind})",
                meta=meta,
            )

    def next_run(self, task: Task) -> datetime | None:
        """When rq-scheduler will run the task's scheduled job, read from Redis."""
        if not task.scheduled_job_id:
            return None
        try:
            at = compat.scheduled_time(self.connection, task.scheduled_job_id)
            if at is not None:
                return at
            # rq-scheduler has moved the job to the queue; a periodic one books its
            # successor when a worker takes it.
            state = self.job_state(task.scheduled_job_id).state
        except (RedisError, OSError) as exc:
            # A blip must not end a periodic schedule: keep what the task last knew.
            logger.warning("Could not read the schedule of task %s from Redis: %s", task.pk, exc)
            return task.cached_next_ride
        if state in (JobState.MISSING, JobState.ENDED):
            return None
        return following(task, timezone.now())

    def lost_schedules(self, tasks: list[ScheduleHandle]) -> list[ScheduleHandle]:
        """The tasks whose schedule job Redis no longer holds, judged inside Redis.

        A schedule is held while its job waits in rq-scheduler's set, or is in its queue
        or running (the worker books the successor); it is lost when the job is gone, or
        ended without moving the schedule on (its work-horse was killed first, say).
        One script call per :data:`LOST_BATCH` tasks answers with the lost ones only, so
        10,000 schedules cost a few round trips, not 20,000 replies parsed in Python.
        """
        lost = []
        with self.reaching_redis(_("read the schedules")):
            check = self.connection.register_script(LOST_SCRIPT)
            for start in range(0, len(tasks), LOST_BATCH):
                batch = tasks[start : start + LOST_BATCH]
                ids = [task.scheduled_job_id for task in batch]
                keys = [compat.SCHEDULED_JOBS_KEY, *(compat.Job.key_for(i) for i in ids)]
                gone = check(keys=keys, args=[len(HELD_OUT_OF_SET), *HELD_OUT_OF_SET, *ids])
                lost += [batch[int(index) - 1] for index in gone]
        return lost

    def continue_schedule(self, task: Task, job: compat.Job) -> bool:
        """Move the schedule on from ``job``, which is due: book the next due time, or end a one-off.

        Returns False when the schedule is no longer ``job``'s (cancelled or replaced
        meanwhile): then nothing runs. The schedule moves in the database before the next
        job is put in Redis, so that job always finds itself named by the task when it
        comes due, however soon; if Redis fails in between, the scheduler's resync books it
        again.
        """
        now = timezone.now()
        next_due = following(task, max(now, scheduled_at(job.meta) or now))
        if next_due is None:
            return task.clear_schedule(job.id)
        successor_id = schedule_job_id()
        if not task.advance_schedule(job.id, successor_id, next_due):
            return False
        try:
            self.book(task, successor_id, next_due)
        except Exception:
            logger.exception("Task %s: could not book its next run; resync will.", task.pk)
        return True

    def rearm(self, task: Task) -> None:
        """Book again the schedule Redis lost: the next due time after now, or a one-off's own.

        A one-off whose time has passed and that never fired is booked now; one that fired
        ends. The schedule moves to the new job only if it is still the lost one.
        """
        with self.task_lock(task):
            fresh = Task.objects.select_related("command").filter(pk=task.pk).first()
            if fresh is None or not fresh.scheduled_job_id:
                return
            lost_job_id = fresh.scheduled_job_id
            due = due_to_book_again(fresh, timezone.now())
            if (
                due is not None
                and not fresh.is_periodic
                and FiredDueTime.objects.filter(task_id=fresh.pk, due_at=due).exists()
            ):
                due = None
            if due is None:
                fresh.clear_schedule(lost_job_id)
                return
            job_id = schedule_job_id()
            if fresh.advance_schedule(lost_job_id, job_id, due):
                self.book(fresh, job_id, due)
