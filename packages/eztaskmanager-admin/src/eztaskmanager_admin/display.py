"""Small HTML pieces the admin pages share: the colour-coded result and log links."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager.conf import get_setting
from eztaskmanager.models import LaunchReport

# The stylesheet of every admin page of the package (result colours, run buttons).
ADMIN_CSS = {"all": ["eztaskmanager_admin/admin.css"]}
RESULT_LABELS = dict(LaunchReport.RESULT_CHOICES)
STATE_LABELS = dict(LaunchReport.STATE_CHOICES)


def log_url(admin_site_name: str, report_id: int, live: bool = False) -> str:
    """The admin's log viewer URL of a report."""
    name = "live_log_viewer" if live else "log_viewer"
    return reverse(f"{admin_site_name}:eztaskmanager_launchreport_{name}", args=[report_id])


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


def local_datetime(value: datetime | None) -> str:
    """A date and time in the site's time zone, as Django's ``DATETIME_FORMAT`` writes it."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def tail_html(lines: list[str], total: int) -> SafeString:
    """The last lines of a log in a ``<pre>``, with how many lines are hidden above."""
    hidden = max(total - len(lines), 0)
    header = (
        format_html(
            '<span class="eztm-hidden">{}</span>\n', _("%(n)s lines hidden ...") % {"n": hidden}
        )
        if hidden
        else ""
    )
    return format_html('<pre class="eztm-tail">{}{}</pre>', header, "\n".join(lines))
