"""Small HTML pieces the admin pages share: badges, times, durations, log links.

Every time is shown in the site's time zone (``TIME_ZONE``, the one the forms use), in
the format of the active language: the lists in a compact form, with the full date and
time on hover.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from eztaskmanager.conf import get_setting
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager_admin.pages import page_url

# The stylesheet and script of every admin page of the package.
ADMIN_CSS = {"all": ["eztaskmanager_admin/admin.css"]}
REFRESH_JS = ["eztaskmanager_admin/refresh.js"]
RESULT_LABELS = dict(LaunchReport.RESULT_CHOICES)
STATE_LABELS = dict(LaunchReport.STATE_CHOICES)
# A task's status in plain words (the model's values are the seed's: spooled, started).
STATUS_LABELS = dict(Task.STATUS_CHOICES)
STATUS_HELP = {
    Task.STATUS_IDLE: _("Nothing queued, running or scheduled."),
    Task.STATUS_SPOOLED: _("A run waits for a worker to take it."),
    Task.STATUS_SCHEDULED: _("A schedule is booked; no run is going on."),
    Task.STATUS_STARTED: _("A run is going on (or stopping)."),
}
ACTIVE_STATUSES = (Task.STATUS_SPOOLED, Task.STATUS_STARTED)


def log_url(admin_site_name: str, report_id: int, live: bool = False) -> str:
    """The admin's log viewer URL of a report."""
    return page_url(
        admin_site_name, LaunchReport, "live_log_viewer" if live else "log_viewer", report_id
    )


def show_log_links() -> bool:
    """The seed's ``EZTASKMANAGER_SHOW_LOGVIEWER_LINK``: whether results link to their log."""
    return bool(get_setting("SHOW_LOGVIEWER_LINK"))


def result_badge(
    result: str, report_id: int | None, admin_site_name: str, reason: str = ""
) -> SafeString | str:
    """A coloured result label, linking to the run's log when there is one.

    ``reason`` (why the run ended so: stopped by whom, timed out, worker lost) becomes
    the label's tooltip, so the list says why without one more column.
    """
    if not result:
        return "-"
    label = RESULT_LABELS.get(result, result)
    if report_id is None or not show_log_links():
        if reason:
            return format_html(
                '<span class="eztm-result eztm-result-{}" title="{}">{}</span>',
                result,
                reason,
                label,
            )
        return format_html('<span class="eztm-result eztm-result-{}">{}</span>', result, label)
    return format_html(
        '<a class="eztm-result eztm-result-{}" href="{}" title="{}">{}</a>',
        result,
        log_url(admin_site_name, report_id),
        reason or _("Show the log messages"),
        label,
    )


def run_badge(report: LaunchReport, admin_site_name: str) -> SafeString | str:
    """A run's badge: its result once it has ended, else its state (queued, running, stopping).

    An active run links to its live log: that is where an operator watches it go on.
    """
    if report.state == LaunchReport.STATE_FINISHED:
        return result_badge(report.invocation_result, report.pk, admin_site_name, report.reason)
    label = str(STATE_LABELS.get(report.state, report.state)).upper()  # as results are
    if not show_log_links():
        return format_html('<span class="eztm-result eztm-state-{}">{}</span>', report.state, label)
    return format_html(
        '<a class="eztm-result eztm-state-{}" href="{}" title="{}">{}</a>',
        report.state,
        log_url(admin_site_name, report.pk, live=True),
        _("Follow the run live"),
        label,
    )


def run_result_html(report: LaunchReport, admin_site_name: str) -> SafeString:
    """A run's badge (its result, or its state while it goes on) with its counts."""
    return format_html(
        "{}{}",
        run_badge(report, admin_site_name),
        counts_html(report.n_log_errors, report.n_log_warnings),
    )


def local_datetime(value: datetime | None) -> str:
    """A date and time in the site's time zone, as Django's ``DATETIME_FORMAT`` writes it."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def compact_datetime(value: datetime, now: datetime | None = None) -> str:
    """The time alone today, else the short date and time (site's zone, local format)."""
    local = timezone.localtime(value)
    today = timezone.localtime(now).date() if now else timezone.localdate()
    if local.date() == today:
        return date_format(local, "TIME_FORMAT")
    return date_format(local, "SHORT_DATETIME_FORMAT")


def when_html(value: datetime | None, now: datetime | None = None) -> SafeString | str:
    """A ``<time>`` in the compact form, with the full date and time on hover."""
    if value is None:
        return ""
    return format_html(
        '<time class="eztm-when" datetime="{}" title="{}">{}</time>',
        timezone.localtime(value).isoformat(timespec="seconds"),
        local_datetime(value),
        compact_datetime(value, now),
    )


def format_duration(value: timedelta | None) -> str:
    """A duration as people say it: ``0.8 s``, ``42 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if value is None:
        return "-"
    seconds = max(value.total_seconds(), 0)
    if seconds < 10:
        return f"{number_format(seconds, 1)} s"
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def run_duration(report: LaunchReport, now: datetime | None = None) -> timedelta | None:
    """How long a run took, or has lasted so far while it goes on; None if it never started."""
    if report.state in LaunchReport.RUNNING_STATES:
        return (now or timezone.now()) - report.invocation_datetime
    return report.duration


def counts_html(n_errors: int, n_warnings: int) -> SafeString | str:
    """Small chips with a run's error and warning counts, when there are any."""
    chips = []
    if n_errors:
        label = ngettext("%(n)d error", "%(n)d errors", n_errors) % {"n": n_errors}
        chips.append(("errors", label, n_errors))
    if n_warnings:
        label = ngettext("%(n)d warning", "%(n)d warnings", n_warnings) % {"n": n_warnings}
        chips.append(("warnings", label, n_warnings))
    if not chips:
        return ""
    return format_html_join(
        "",
        '<span class="eztm-chip eztm-chip-{}" title="{}">{}</span>',
        chips,
    )


def status_badge(
    task: Task, admin_site_name: str, active_report_id: int | None = None
) -> SafeString:
    """A task's status as a badge; while a run is going on, a link to its live log."""
    label = STATUS_LABELS.get(task.status, task.status)
    if active_report_id is not None and task.status in ACTIVE_STATUSES and show_log_links():
        return format_html(
            '<a class="eztm-status eztm-status-{}" href="{}" title="{}">{}</a>',
            task.status,
            log_url(admin_site_name, active_report_id, live=True),
            _("Follow the run live"),
            label,
        )
    return format_html(
        '<span class="eztm-status eztm-status-{}" title="{}">{}</span>',
        task.status,
        STATUS_HELP.get(task.status, ""),
        label,
    )


def refresh_fragment(key: str, content: SafeString | str, tag: str = "span") -> SafeString:
    """A piece of a page that ``refresh.js`` replaces with its newer copy while runs go on."""
    return format_html('<{} data-eztm-refresh="{}">{}</{}>', tag, key, content, tag)


def refresh_config(tasks: list[Task]) -> dict[str, Any]:
    """What ``refresh.js`` needs: whether a run is going on, when the next one comes due."""
    due = [t.cached_next_ride for t in tasks if t.cached_next_ride is not None]
    return {
        "active": any(t.status in ACTIVE_STATUSES for t in tasks),
        "due": int(min(due).timestamp() * 1000) if due else None,
    }


def is_refresh(request: HttpRequest) -> bool:
    """A request of ``refresh.js`` for a newer copy of the page it shows."""
    return request.headers.get("X-EZTM-Refresh") == "1"


def stack(*lines: SafeString | str) -> SafeString:
    """Lines of a list cell, one above the other, leaving out the empty ones."""
    return format_html_join(
        "", '<span class="eztm-line">{}</span>', ((line,) for line in lines if line)
    )


def quiet(text: SafeString | str) -> SafeString | str:
    return format_html('<span class="eztm-quiet">{}</span>', text) if text else ""


def empty() -> SafeString:
    return mark_safe('<span class="eztm-quiet">-</span>')


def tail_html(lines: list[str], total: int) -> SafeString:
    """The last lines of a log in a ``<pre>``, with how many lines are hidden above."""
    hidden = max(total - len(lines), 0)
    header = (
        format_html(
            '<span class="eztm-hidden">{}</span>\n',
            ngettext("%(n)s line hidden ...", "%(n)s lines hidden ...", hidden)
            % {"n": number_format(hidden, force_grouping=True)},
        )
        if hidden
        else ""
    )
    return format_html('<pre class="eztm-tail">{}{}</pre>', header, "\n".join(lines))


def report_tail(report: LaunchReport) -> SafeString:
    """A report's last ``REPORT_LOG_TAIL_LINES`` lines, as the raw text view writes them."""
    return tail_html(report.log_tail(get_setting("REPORT_LOG_TAIL_LINES")), report.n_log_lines)
