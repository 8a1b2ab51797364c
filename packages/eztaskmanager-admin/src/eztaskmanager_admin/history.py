"""A picture of each task's last runs: a bar per run, its height the run's duration, its
colour the result, each bar a link to the run's log.

Drawn as inline SVG from the report rows (no chart library): the task page reads the
task's last runs in one query, the task list reads the last runs of every task on the
page in one query (:func:`recent_runs`, a window function), so the list's query count
does not grow with its rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    F,
    Func,
    JSONField,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from eztaskmanager.models import LaunchReport
from eztaskmanager.permissions import may_see_report, sees_all_reports
from eztaskmanager_admin import display

# Runs in the task list's sparkline, and in the task page's chart (the reports kept,
# REPORTS_KEPT, may be fewer).
SPARK_RUNS = 10
CHART_RUNS = 30
# What a bar needs of a report; its datetimes last (see _rows).
FIELDS = (
    "pk",
    "task_id",
    "state",
    "invocation_result",
    "reason",
    "n_log_errors",
    "n_log_warnings",
    "live_progress",
    "started_by_id",
    "invocation_datetime",
    "queued_at",
    "finished_at",
    "heartbeat_at",
)
DATES = FIELDS[-4:]
# The bars of a run that has not ended (of an ended one, nothing: the list needs no more).
LIVE_PROGRESS = Case(
    When(state__in=LaunchReport.ACTIVE_STATES, then=F("progress")),
    default=Value(None),
    output_field=JSONField(),
)


class Run(NamedTuple):
    """A report as the history reads it: the columns of ``FIELDS``, and the model's own
    ``is_active``, ``started`` and ``duration`` over them.

    A list page reads a thousand runs; a model instance each cost more than drawing its bar.
    """

    pk: int
    task_id: int
    state: str
    invocation_result: str
    reason: str
    n_log_errors: int
    n_log_warnings: int
    live_progress: Any
    started_by_id: int | None
    invocation_datetime: datetime
    queued_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    ACTIVE_STATES = LaunchReport.ACTIVE_STATES
    is_active = LaunchReport.is_active
    started = LaunchReport.started
    duration = LaunchReport.duration


def _rows(reports: QuerySet, limit: int | None = None) -> Iterator[Run]:
    """The first ``limit`` of ``reports`` (all of them: None) as runs.

    Where the database writes their datetimes as text in UTC, they come so, and
    ``fromisoformat`` reads them in C: Django's converters parse each in Python, and a list
    page's four thousand cost more than the rest of its runs.
    """
    as_text = _utc_text(connections[reports.db])
    if as_text is None:
        yield from map(Run._make, reports.values_list(*FIELDS)[:limit])
        return
    texts = {
        f"eztm_{name}": Func(F(name), template=as_text, output_field=CharField()) for name in DATES
    }
    for row in reports.annotate(**texts).values_list(*FIELDS[:-4], *texts)[:limit]:
        yield Run(*row[:-4], *map(_read_date, row[-4:]))


def _utc_text(connection: Any) -> str | None:
    """The SQL of a datetime column as ISO text in UTC, offset included; None where the
    database keeps them otherwise (without ``USE_TZ``, or in another zone)."""
    if not settings.USE_TZ:
        return None
    if connection.vendor == "postgresql":  # text as its DateStyle ISO writes it, as Django needs
        return "((%(expressions)s AT TIME ZONE 'UTC')::text || '+00:00')"
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        return "(CAST(%(expressions)s AS TEXT) || '+00:00')"  # as Django stores it
    return None


def _read_date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # Python 3.10 reads 3 or 6 decimals of a second alone
        value = parse_datetime(text)
        if value is None:
            raise
        return value


def recent_runs(task_ids: Iterable[int], per_task: int = SPARK_RUNS) -> dict[int, list[Run]]:
    """The last ``per_task`` runs of each task, newest first, in one query."""
    ids = list(task_ids)
    if not ids:
        return {}
    reports = (
        LaunchReport.objects.filter(task_id__in=ids)
        .annotate(
            live_progress=LIVE_PROGRESS,
            recent=Window(
                RowNumber(),
                partition_by=[F("task_id")],
                order_by=[F("invocation_datetime").desc(), F("pk").desc()],
            ),
        )
        .filter(recent__lte=per_task)
        .order_by("task_id", "-invocation_datetime", "-pk")
    )
    runs: dict[int, list[Run]] = defaultdict(list)
    for run in _rows(reports):
        runs[run.task_id].append(run)
    return runs


def active_runs(task_ids: Iterable[int]) -> dict[int, Run]:
    """The newest run of each task that has not ended, in one query on the index of such
    runs: what the task list's status needs when its bars come later."""
    ids = list(task_ids)
    if not ids:
        return {}
    reports = (
        LaunchReport.objects.filter(task_id__in=ids)
        .exclude(state=LaunchReport.STATE_FINISHED)
        .annotate(live_progress=LIVE_PROGRESS)
        .order_by("task_id", "-invocation_datetime", "-pk")
    )
    active: dict[int, Run] = {}
    for run in _rows(reports):
        active.setdefault(run.task_id, run)
    return active


def task_runs(task_id: int, limit: int = CHART_RUNS) -> list[Run]:
    """The last ``limit`` runs of one task, newest first."""
    reports = (
        LaunchReport.objects.filter(task_id=task_id)
        .annotate(live_progress=LIVE_PROGRESS)
        .order_by("-invocation_datetime", "-pk")
    )
    return list(_rows(reports, limit))


def visible_ids(user: Any, runs: Iterable[Run]) -> set[int] | None:
    """The runs among ``runs`` that ``user`` may open (``None``: all of theirs and others')."""
    if sees_all_reports(user):
        return None
    return {run.pk for run in runs if may_see_report(user, run)}


def active_run(runs: Sequence[Run]) -> Run | None:
    """The run among ``runs`` (newest first) that has not ended, if any."""
    return next((run for run in runs if run.is_active), None)


def progress_percent(run: Run | None) -> int | None:
    """How far a run going on is, by the first bar its command reports with a total."""
    bars = ((run.live_progress or {}).get("bars") or []) if run is not None else []
    for bar in bars:
        total = bar.get("total")
        if isinstance(total, (int, float)) and total > 0:
            return max(0, min(100, int(100 * bar.get("current", 0) / total)))
    return None


class Bar(NamedTuple):
    report_id: int
    css: str
    seconds: float
    label: str
    href: str


def bar_of(report: Run, texts: display.Texts) -> Bar:
    """One run as a bar: its class (result, or state while it goes on), its duration, its
    words, its link (the last three escaped)."""
    duration = display.run_duration(report, texts.now)
    state, result = report.state, report.invocation_result
    css, status = texts.once(("bar", state, result), lambda: _bar_kind(state, result, texts))
    parts = [texts.datetime(report.invocation_datetime), status]
    if duration is not None:
        parts.append(texts.duration(duration))
    if report.n_log_errors or report.n_log_warnings:
        parts.extend(
            words for _kind, words in texts.counts(report.n_log_errors, report.n_log_warnings)
        )
    if report.reason:
        parts.append(report.reason)
    href = escape(texts.log_url(report.pk, report.is_active)) if texts.linked(report.pk) else ""
    seconds = duration.total_seconds() if duration is not None else 0.0
    return Bar(report.pk, css, seconds, escape(" · ".join(parts)), href)


def _bar_kind(state: str, result: str, texts: display.Texts) -> tuple[str, str]:
    """A bar's class (escaped) and status: its result once the run has ended, else its state."""
    if state == LaunchReport.STATE_FINISHED:
        return escape(f"eztm-bar-{result or 'none'}"), texts.label("result", result)
    return escape(f"eztm-bar-{state}"), texts.label("state", state).upper()


def svg(
    runs: Sequence[Run],
    texts: display.Texts,
    *,
    slots: int,
    bar_width: int,
    gap: int,
    height: int,
    css: str,
) -> SafeString:
    """The bars of ``runs`` (newest first), oldest on the left, newest on the right edge.

    Written with f-strings and one escape per text rather than ``format_html``: the task
    list draws a thousand bars a page, and each ``format_html`` costs more than the rest
    of its bar.
    """
    bars = [bar_of(run, texts) for run in reversed(runs[:slots])]
    longest = max([bar.seconds for bar in bars], default=0) or 1.0
    step = bar_width + gap
    width = slots * step - gap
    first = slots - len(bars)  # empty slots on the left: the newest run is always at the right
    floor = 2  # a run of no measurable duration still shows
    last = len(bars) - 1
    items = []
    for index, (report_id, bar_css, seconds, label, href) in enumerate(bars):
        bar_height = max(round((height - floor) * seconds / longest) + floor, floor)
        x = (first + index) * step
        rect = (
            f'<rect class="eztm-bar {bar_css}" x="{x}" y="{height - bar_height}" '
            f'width="{bar_width}" height="{bar_height}" rx="1"><title>{label}</title></rect>'
        )
        if href:
            # A full-height hit area, so that a short bar is as easy to click as a tall one.
            hit_width = step if index < last else bar_width
            rect = (
                f'<a href="{href}" data-report="{report_id}" aria-label="{label}">'
                f'<rect class="eztm-bar-hit" x="{x}" y="0" width="{hit_width}" '
                f'height="{height}"></rect>{rect}</a>'
            )
        items.append(rect)
    label = escape(
        texts.plural(
            "The last run: its duration and result",
            "The last %(n)d runs: duration (bar height) and result (colour), oldest first",
            len(bars),
        )
    )
    return SafeString(
        f'<svg class="{escape(css)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<line class="eztm-baseline" x1="0" y1="{height - 0.5}" x2="{width}" '
        f'y2="{height - 0.5}"></line>{"".join(items)}</svg>'
    )


def sparkline(
    runs: Sequence[Run | LaunchReport], admin_site_name: str, texts: display.Texts | None = None
) -> SafeString | str:
    """The task list's picture of a task's last runs: small, bars only (``texts``: the
    page's, when a list draws many)."""
    if not runs:
        return ""
    return svg(
        runs,
        texts or display.Texts(admin_site_name),
        slots=SPARK_RUNS,
        bar_width=5,
        gap=2,
        height=20,
        css="eztm-sparkline",
    )


def chart(runs: Sequence[Run], admin_site_name: str, visible: set[int] | None = None) -> SafeString:
    """The task page's chart of its last runs, with a caption that reads it; bars link to
    the reports among ``visible`` (:func:`visible_ids`; ``None``: all of them)."""
    if not runs:
        return format_html('<p class="eztm-quiet eztm-chart-empty">{}</p>', _("No run yet."))
    now = timezone.now()
    slots = max(len(runs), 10)
    longest = max(
        (display.run_duration(run, now) or timedelta(0) for run in runs),
        default=None,
    )
    texts = display.Texts(admin_site_name, now)
    texts.visible = visible
    picture = svg(
        runs,
        texts,
        slots=slots,
        bar_width=16,
        gap=6,
        height=72,
        css="eztm-chart",
    )
    oldest, newest = runs[-1].invocation_datetime, runs[0].invocation_datetime
    words = {
        "n": len(runs),
        "oldest": display.compact_datetime(oldest, now),
        "newest": display.compact_datetime(newest, now),
        "longest": display.format_duration(longest),
    }
    if len(runs) == 1:
        caption = _("1 run, at %(newest)s; it took %(longest)s.") % words
    else:
        caption = (
            _("%(n)d runs, from %(oldest)s to %(newest)s; the longest took %(longest)s.") % words
        )
    hint = _("Bar height: duration; colour: result. Click a bar to open the run's log.")
    return format_html(
        '<figure class="eztm-history">{}<figcaption class="eztm-quiet">{} {}</figcaption></figure>',
        picture,
        caption,
        hint if display.show_log_links() else "",
    )
