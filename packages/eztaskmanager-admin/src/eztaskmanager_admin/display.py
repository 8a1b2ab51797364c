"""Small HTML pieces the admin pages share: the colour-coded result and log links."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager.conf import get_setting
from eztaskmanager.models import LaunchReport

RESULT_LABELS = dict(LaunchReport.RESULT_CHOICES)


def log_url(admin_site_name: str, report_id: int, live: bool = False) -> str:
    """The admin's log viewer URL of a report."""
    name = "live_log_viewer" if live else "log_viewer"
    return reverse(f"{admin_site_name}:eztaskmanager_launchreport_{name}", args=[report_id])


def show_log_links() -> bool:
    """The seed's ``EZTASKMANAGER_SHOW_LOGVIEWER_LINK``: whether results link to their log."""
    return bool(get_setting("SHOW_LOGVIEWER_LINK"))


def result_badge(result: str, report_id: int | None, admin_site_name: str) -> SafeString | str:
    """A coloured result label, linking to the run's log when there is one."""
    if not result:
        return "-"
    label = RESULT_LABELS.get(result, result)
    if report_id is None or not show_log_links():
        return format_html('<span class="eztm-result eztm-result-{}">{}</span>', result, label)
    return format_html(
        '<a class="eztm-result eztm-result-{}" href="{}" title="{}">{}</a>',
        result,
        log_url(admin_site_name, report_id),
        _("Show the log messages"),
        label,
    )


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
