"""A run started by its worker while the work-horse gets ready.

A forked work-horse spends its first milliseconds in RQ's own preparation (Redis round
trips, signal handlers) and then, before its command could begin, marked its run started:
five statements, run by a process that has just been forked, where every object Python
touches first costs a copied memory page (13-14 ms of a 20 ms job, measured on
PostgreSQL, against 4 ms for the same start in a long-lived process).

So the worker marks the run started itself, right after the fork, with the work-horse's
pid: the start overlaps RQ's preparation of the work-horse. It uses the connection it
hands the work-horse when it opened one ahead (:mod:`eztaskmanager_rq.handover`, on
PostgreSQL, while the previous work-horse ran or while the worker was idle), else its
own, kept while jobs wait; a work-horse without a connection opens its own when it first
needs one (its log lines, its end). The work-horse waits for the worker's word on a pipe
before it uses the database, so a session is only ever used by one process at a time:

- "started", with the run's report: the work-horse runs its command
  (:func:`eztaskmanager.services.runner.run_started`);
- "nothing to run" (the run was stopped meanwhile, the task is gone...): it returns;
- "left to you" (the start failed: the database is away, another run of the task is
  going on): it starts the run itself, as without a head start, with the runner's
  retries and its look at the blocking run; a connection it was handed is dropped first;
- no word (the worker died first): the same, and the handed connection is closed, which
  ends the worker's transaction if one was open on it.

Only ``run_task`` jobs get a head start: a schedule's job claims its due time first. The
worker waits for the start as its work-horse did: for the task's row lock, which only
short transactions hold.
"""

from __future__ import annotations

import logging
import os
import pickle
from contextlib import nullcontext
from typing import Any, NamedTuple

from django.db.backends.base.base import BaseDatabaseWrapper

from eztaskmanager.models import LaunchReport
from eztaskmanager.models.compiled import lent
from eztaskmanager.processes import forked_process
from eztaskmanager.services.spare_connections import runs_connection
from eztaskmanager_rq.jobs import RUN_TASK

logger = logging.getLogger(__name__)

# What the worker says on the pipe.
STARTED, NOTHING, LEFT = "started", "nothing to run", "left to you"


class Word(NamedTuple):
    """The worker's word to its work-horse: ``said`` (one of the above) and the report."""

    said: str
    report: LaunchReport | None = None


class HeadStart:
    """The head start of one fork: set up before it, given by the worker, taken by the
    work-horse (see the module's docstring)."""

    def __init__(self, job_id: str, task_id: int, connection: Any) -> None:
        self.job_id, self.task_id, self.connection = job_id, task_id, connection
        self.read_end, self.write_end = os.pipe()

    def give(self, horse_pid: int, worker: str) -> None:
        """In the worker, right after the fork: start the run for ``horse_pid``; tell it."""
        from eztaskmanager.services.runner import start_run_in

        os.close(self.read_end)
        process = forked_process(horse_pid, worker)
        try:
            with lent(self.connection) if self.connection is not None else nullcontext():
                report = start_run_in(self.task_id, self.job_id, process)
            word = Word(STARTED, report) if report is not None else Word(NOTHING)
        except Exception as exc:  # the work-horse tries itself, with the runner's retries
            logger.info("Job %s: the work-horse starts its run itself (%s)", self.job_id, exc)
            if self.connection is None:  # the worker's own: a new one next time
                _close(runs_connection())
            word = Word(LEFT)
        try:
            with os.fdopen(self.write_end, "wb") as pipe:
                pipe.write(pickle.dumps(word))
        except BrokenPipeError:
            pass  # the work-horse is gone: the worker's hook ends the run

    def take(self) -> Word:
        """In the work-horse: wait for the worker's word. Without one, or left to start
        the run itself, drop the connection it was handed."""
        os.close(self.write_end)
        with os.fdopen(self.read_end, "rb") as pipe:
            said = pipe.read()
        word = pickle.loads(said) if said else Word(LEFT)
        if word.said == LEFT and self.connection is not None:
            # In an unknown state, or in the middle of a transaction of the dead worker:
            # closed, the server rolls it back; the runner opens a new one.
            self.connection.close()
        return word


def _close(connection: BaseDatabaseWrapper) -> None:
    if not connection.in_atomic_block:  # tests that run a worker inside their transaction
        connection.close()


class HeadStarts:
    """The head start of the next fork, in the worker, then in its work-horse."""

    def __init__(self) -> None:
        self.pending: HeadStart | None = None

    def plan(self, job: Any, connection: Any) -> None:
        """Before the fork: a head start for ``job`` if it runs a task, on ``connection``
        (the work-horse's, opened ahead) if there is one, else on the worker's own."""
        self.pending = None
        if job.func_name == RUN_TASK and len(job.args) == 1:
            self.pending = HeadStart(job.id, job.args[0], connection)

    def give(self, horse_pid: int, worker: str) -> None:
        """In the worker, after the fork."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.give(horse_pid, worker)

    def rest(self) -> None:
        """In the worker, when no job waits: close its own connection (an idle worker
        holds only the one it opened ahead for its next work-horse)."""
        _close(runs_connection())

    def abandon(self) -> None:
        """In the worker, when the fork failed: no one gives or takes it."""
        pending, self.pending = self.pending, None
        if pending is not None:
            os.close(pending.read_end)
            os.close(pending.write_end)

    def take(self, job_id: str) -> Word | None:
        """In the work-horse: the worker's word on ``job_id``'s run, ``None`` if it gave none."""
        pending, self.pending = self.pending, None
        if pending is None or pending.job_id != job_id:
            return None
        return pending.take()


head_starts = HeadStarts()
