"""Retention by age and level: old finished reports deleted, old DEBUG lines dropped.

What ``eztaskmanager_prune`` runs (from cron, or as a task). Besides ``REPORTS_KEPT``
(the last N reports of each task, pruned after every run):

- :func:`delete_old_reports`: finished reports that ended more than N days ago, with
  their log lines and artifacts (files deleted once each batch commits). The newest
  finished report of each task is kept whatever its age: the task list shows its figures
  and links to it (delete the task, or that report, to drop it). A run that has not
  ended is never touched.
- :func:`drop_debug_lines`: the DEBUG lines of finished reports that ended more than N
  days ago. The lines left are numbered again from 0 and the report's line count set,
  so that the viewer, which reads pages by line number, shows them without gaps. The
  error and warning counters do not count DEBUG lines and stay as they are.

Safe to run at any time and twice at once: work goes in short transactions (a batch of
reports, bounded by their lines; the DEBUG lines of one report), each re-checking that
its reports are finished. A finished run takes no more lines (see
:func:`eztaskmanager.models.logs.write_log_rows`), so nothing writes to a log being
renumbered. Where the database locks rows (PostgreSQL), a batch takes its reports with
``SKIP LOCKED``: two prunes share the work rather than wait for each other; SQLite takes
one writer at a time. Running again does nothing more: what is gone is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Log, Task

# A batch of reports to delete closes at this many reports (the --batch-size) or lines.
DEFAULT_BATCH_SIZE = 100
LINES_PER_BATCH = 100_000
DEBUG = "DEBUG"


@dataclass
class Figures:
    """What was (or, in a dry run, would be) removed for one task, or in all."""

    reports: int = 0
    lines: int = 0
    artifacts: int = 0
    debug_lines: int = 0
    debug_reports: int = 0

    def add(self, other: Figures) -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Pruned:
    """Figures by task name, and in all."""

    by_task: dict[str, Figures] = field(default_factory=dict)

    def of(self, task_name: str) -> Figures:
        return self.by_task.setdefault(task_name, Figures())

    @property
    def total(self) -> Figures:
        total = Figures()
        for figures in self.by_task.values():
            total.add(figures)
        return total


def cutoff(days: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def _ended() -> Coalesce:
    # Reports from before the finish time was recorded ended when they started, near enough.
    return Coalesce("finished_at", "invocation_datetime")


def old_reports(before: datetime) -> QuerySet[LaunchReport]:
    """Finished reports that ended before ``before``, but each task's newest finished one."""
    newest = (
        LaunchReport.objects.filter(task=OuterRef("task"), state=LaunchReport.STATE_FINISHED)
        .order_by("-invocation_datetime", "-pk")
        .values("pk")[:1]
    )
    return (
        LaunchReport.objects.filter(state=LaunchReport.STATE_FINISHED)
        .alias(ended=_ended())
        .filter(ended__lt=before)
        .exclude(pk=Subquery(newest))
    )


def reports_with_old_debug(before: datetime) -> QuerySet[LaunchReport]:
    """Finished reports that ended before ``before`` and still have DEBUG lines."""
    debug = Log.objects.filter(launch_report=OuterRef("pk"), level=DEBUG)
    return (
        LaunchReport.objects.filter(state=LaunchReport.STATE_FINISHED)
        .alias(ended=_ended())
        .filter(ended__lt=before)
        .filter(Exists(debug))
    )


def _batches(reports: QuerySet[LaunchReport], size: int) -> Iterator[list[tuple[int, int]]]:
    """``(pk, lines)`` of ``reports`` by ascending pk, in batches of at most ``size``
    reports or :data:`LINES_PER_BATCH` lines (one larger report alone), read by keyset."""
    after = 0
    while True:
        page = list(
            reports.filter(pk__gt=after).order_by("pk").values_list("pk", "n_log_lines")[:size]
        )
        if not page:
            return
        after = page[-1][0]
        batch: list[tuple[int, int]] = []
        lines = 0
        for pk, n_lines in page:
            if batch and lines + n_lines > LINES_PER_BATCH:
                yield batch
                batch, lines = [], 0
            batch.append((pk, n_lines))
            lines += n_lines
        yield batch


def _lock_finished(pks: list[int]) -> QuerySet[LaunchReport]:
    """The reports among ``pks`` still finished, locked for this transaction where the
    database can (those another prune holds are left to it)."""
    reports = LaunchReport.objects.filter(pk__in=pks, state=LaunchReport.STATE_FINISHED)
    features = connections[router.db_for_write(LaunchReport)].features
    if features.has_select_for_update_skip_locked:
        locked = list(reports.select_for_update(skip_locked=True).values_list("pk", flat=True))
        reports = LaunchReport.objects.filter(pk__in=locked)
    return reports


def _task_names(task_ids: set[int]) -> dict[int, str]:
    return dict(Task.objects.filter(pk__in=task_ids).values_list("pk", "name"))


def delete_old_reports(
    days: float,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
    pruned: Pruned | None = None,
) -> Pruned:
    """Delete finished reports that ended more than ``days`` days ago (see the module)."""
    pruned = pruned if pruned is not None else Pruned()
    candidates = old_reports(cutoff(days, now))
    touched: set[int] = set()
    for batch in _batches(candidates, batch_size):
        pks = [pk for pk, _lines in batch]
        with transaction.atomic():
            reports = candidates.filter(pk__in=pks) if dry_run else _lock_finished(pks)
            rows = list(
                reports.annotate(n_artifacts=Count("artifacts")).values_list(
                    "pk", "task_id", "n_log_lines", "n_artifacts"
                )
            )
            if not rows:
                continue
            if not dry_run:
                LaunchReport.objects.filter(pk__in=[row[0] for row in rows]).delete()
        names = _task_names({row[1] for row in rows})
        for _pk, task_id, n_lines, n_artifacts in rows:
            figures = pruned.of(names.get(task_id, str(task_id)))
            figures.reports += 1
            figures.lines += n_lines
            figures.artifacts += n_artifacts
            touched.add(task_id)
    if not dry_run:
        _refresh_cached_figures(touched)
    return pruned


def _refresh_cached_figures(task_ids: set[int]) -> None:
    """The last-run figures of tasks that lost reports, under each task's lock (a run that
    ends meanwhile writes them under the same lock)."""
    for task_id in sorted(task_ids):
        with transaction.atomic():
            task = Task.locked(task_id)
            if task is not None:
                task.compute_cache()


def drop_debug_lines(
    days: float,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
    pruned: Pruned | None = None,
    spare: QuerySet[LaunchReport] | None = None,
) -> Pruned:
    """Drop the DEBUG lines of finished reports that ended more than ``days`` days ago and
    number the rest again; ``spare``: reports to leave out (a dry run's deleted ones)."""
    pruned = pruned if pruned is not None else Pruned()
    candidates = reports_with_old_debug(cutoff(days, now))
    if spare is not None:
        candidates = candidates.exclude(pk__in=spare.values("pk"))
    for batch in _batches(candidates, batch_size):
        pks = [pk for pk, _lines in batch]
        task_ids = LaunchReport.objects.filter(pk__in=pks).values_list("task_id", flat=True)
        names = _task_names(set(task_ids))
        for pk, _lines in batch:
            done = _count_debug(pk) if dry_run else _drop_debug_of(pk)
            if done is None:
                continue
            task_id, dropped = done
            if dropped:
                figures = pruned.of(names.get(task_id, str(task_id)))
                figures.debug_lines += dropped
                figures.debug_reports += 1
    return pruned


def _count_debug(pk: int) -> tuple[int, int] | None:
    report = LaunchReport.objects.filter(pk=pk).values_list("task_id", flat=True).first()
    if report is None:
        return None
    return report, Log.objects.filter(launch_report_id=pk, level=DEBUG).count()


def _drop_debug_of(pk: int) -> tuple[int, int] | None:
    """Drop one report's DEBUG lines and number the rest 0..m-1, in one transaction.

    Returns ``(task id, lines dropped)``, or ``None`` when the report is gone, not
    finished, or held by another prune.
    """
    using = router.db_for_write(Log)
    with transaction.atomic(using=using):
        row = _lock_finished([pk]).values_list("task_id", "n_log_lines").first()
        if row is None:
            return None
        task_id, n_lines = row
        dropped, _details = Log.objects.filter(launch_report_id=pk, level=DEBUG).delete()
        if not dropped:
            return task_id, 0
        left = renumber_lines(pk, n_lines, using)
        LaunchReport.objects.filter(pk=pk).update(n_log_lines=left)
    return task_id, dropped


def renumber_lines(report_id: int, size: int, using: str) -> int:
    """Number a report's lines 0..m-1 in their order; return m.

    The ``(launch_report, line)`` pairs are unique and checked row by row, so the lines
    first move above every number in use (``line + size``; ``size`` is the log's length
    before lines were dropped) and then take their rank (``ROW_NUMBER()``), which is
    below all of them: no two rows ever share a number. Two UPDATEs on PostgreSQL and
    SQLite (3.33 and later); elsewhere the ranks are written in chunks.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(Log._meta.db_table)
    pk_column = quote(Log._meta.pk.column)
    report = quote(Log._meta.get_field("launch_report").column)
    line = quote(Log._meta.get_field("line").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {line} = {line} + %s WHERE {report} = %s", [size, report_id]
        )
        if not _updates_from_a_window(connection):
            return _renumber_in_chunks(report_id, using)
        cursor.execute(
            f"UPDATE {table} SET {line} = numbered.new_line - 1 "
            f"FROM (SELECT {pk_column} AS row_id, ROW_NUMBER() OVER (ORDER BY {line}) AS new_line "
            f"FROM {table} WHERE {report} = %s) AS numbered "
            f"WHERE {table}.{pk_column} = numbered.row_id",
            [report_id],
        )
        return cursor.rowcount


def _updates_from_a_window(connection: Any) -> bool:
    """Whether the database takes ``UPDATE ... FROM (SELECT ... ROW_NUMBER() ...)``."""
    if connection.vendor == "postgresql":
        return True
    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version_info >= (3, 33)
    return False


def _renumber_in_chunks(report_id: int, using: str, chunk: int = 1000) -> int:
    """The second step of :func:`renumber_lines` where one UPDATE cannot do it."""
    rows = Log.objects.using(using).filter(launch_report_id=report_id)
    ids = list(rows.order_by("line").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk):
        lines = [Log(pk=pk, line=start + n) for n, pk in enumerate(ids[start : start + chunk])]
        Log.objects.using(using).bulk_update(lines, ["line"])
    return len(ids)


def prune(
    max_age_days: float | None,
    debug_older_than_days: float | None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Pruned:
    """Old reports first (their DEBUG lines go with them), then the DEBUG lines of the rest."""
    now = now or timezone.now()
    pruned = Pruned()
    if max_age_days is not None:
        delete_old_reports(
            max_age_days, batch_size=batch_size, dry_run=dry_run, now=now, pruned=pruned
        )
    if debug_older_than_days is not None:
        # A dry run deleted nothing: leave out what the age rule would delete.
        spare = None
        if dry_run and max_age_days is not None:
            spare = old_reports(cutoff(max_age_days, now))
        drop_debug_lines(
            debug_older_than_days,
            batch_size=batch_size,
            dry_run=dry_run,
            now=now,
            pruned=pruned,
            spare=spare,
        )
    return pruned


__all__ = [
    "Figures",
    "Pruned",
    "delete_old_reports",
    "drop_debug_lines",
    "old_reports",
    "prune",
    "renumber_lines",
    "reports_with_old_debug",
]
