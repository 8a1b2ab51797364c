"""Small HTML pieces the admin pages share: badges, times, durations, log links.

Every time is shown in the site's time zone (``TIME_ZONE``, the one the forms use), in
the format of the active language: the lists in a compact form, with the full date and
time on hover.

Markup built here is ``SafeString(...)``, what ``mark_safe()`` makes of a str, without its
check for lazy arguments (a list page builds thousands).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from html import escape
from typing import Any

from django.db.models import BooleanField, Case, Model, Value, When
from django.http import HttpRequest
from django.utils import numberformat, timezone
from django.utils.formats import get_format, number_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from eztaskmanager import origins
from eztaskmanager.conf import get_setting
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.permissions import sees_all_reports
from eztaskmanager_admin.localdates import DateFormatter
from eztaskmanager_admin.pages import PLACEHOLDER, page_url

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
# Words a list writes on many rows, by kind, for Texts.label().
LABELS: dict[str, dict[str, Any]] = {
    "result": RESULT_LABELS,
    "state": STATE_LABELS,
    "status": STATUS_LABELS,
    "help": STATUS_HELP,
    "word": {
        "follow": _("Follow the run live"),
        "show_log": _("Show the log messages"),
        "next": _("next"),
        "start": _("Start"),
        "stop": _("Stop"),
    },
}


def log_url(admin_site_name: str, report_id: int, live: bool = False) -> str:
    """The admin's log viewer URL of a report."""
    return Texts(admin_site_name).log_url(report_id, live)


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
    return Texts(admin_site_name).result_badge(result, report_id, reason)


def run_badge(report: LaunchReport, admin_site_name: str) -> SafeString | str:
    """A run's badge: its result once it has ended, else its state (queued, running, stopping).

    An active run links to its live log: that is where an operator watches it go on.
    """
    return Texts(admin_site_name).run_badge(report)


def run_result_html(report: LaunchReport, admin_site_name: str) -> SafeString:
    """A run's badge (its result, or its state while it goes on) with its counts."""
    return format_html(
        "{}{}",
        run_badge(report, admin_site_name),
        counts_html(report.n_log_errors, report.n_log_warnings),
    )


def local_datetime(value: datetime | None) -> str:
    """A date and time in the site's time zone, as Django's ``DATETIME_FORMAT`` writes it."""
    return Texts().datetime(value)


def compact_datetime(value: datetime, now: datetime | None = None) -> str:
    """The time alone today, else the short date and time (site's zone, local format)."""
    return Texts(now=now).compact(value)


def when_html(value: datetime | None, now: datetime | None = None) -> SafeString | str:
    """A ``<time>`` in the compact form, with the full date and time on hover."""
    return Texts(now=now).when_html(value)


class Texts:
    """What the rows of a page write alike, worked out once for the page: dates in the
    site's zone and the language's formats, log links, labels.

    A list of a hundred tasks writes a thousand dates and links; each ``date_format()``,
    ``reverse()``, setting or gettext lookup per row costs more than the row's own text.
    """

    def __init__(self, admin_site_name: str = "", now: datetime | None = None) -> None:
        self.admin_site_name = admin_site_name
        if now is not None:
            self.now = now
        self._urls: dict[tuple[type, str], list[str]] = {}
        self._plurals: dict[tuple[str, int], str] = {}
        self._labels: dict[tuple[str, str], str] = {}
        self._once: dict[Hashable, Any] = {}
        self._separators: tuple | None = None
        # The reports the page's user may open (None: all of them); no link to another.
        self.visible: set[int] | None = None

    @cached_property
    def now(self) -> datetime:
        return timezone.now()

    @cached_property
    def zone(self) -> tzinfo:
        return timezone.get_current_timezone()

    @cached_property
    def links(self) -> bool:
        return show_log_links()

    def linked(self, report_id: int) -> bool:
        """Whether a report's badge or bar links to its log: links shown, and the user may see it."""
        return self.links and (self.visible is None or report_id in self.visible)

    @cached_property
    def today(self) -> date:
        return timezone.localtime(self.now, self.zone).date()

    @cached_property
    def _full(self) -> DateFormatter:
        return DateFormatter("DATETIME_FORMAT")

    @cached_property
    def _short_date(self) -> DateFormatter:
        return DateFormatter("SHORT_DATE_FORMAT")

    @cached_property
    def _time(self) -> DateFormatter:
        return DateFormatter("TIME_FORMAT")

    def once(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, called once a page."""
        if key not in self._once:
            self._once[key] = make()
        return self._once[key]

    def label(self, kind: str, value: str) -> str:
        """``LABELS[kind][value]`` (or ``value`` itself), translated once a page."""
        key = (kind, value)
        if key not in self._labels:
            self._labels[key] = str(LABELS[kind].get(value, value))
        return self._labels[key]

    def datetime(self, value: datetime | None) -> str:
        """As :func:`local_datetime`."""
        if value is None:
            return "-"
        return self._full(timezone.localtime(value, self.zone))

    def compact(self, value: datetime) -> str:
        """As :func:`compact_datetime`."""
        return " ".join(self._compact_parts(timezone.localtime(value, self.zone)))

    def _compact_parts(self, local: datetime) -> tuple[str, ...]:
        """The time of a local datetime of today; the short date and the time of another day."""
        if local.date() == self.today:
            return (self._time(local),)
        return self._short_date(local), self._time(local)

    def when_html(self, value: datetime | None) -> SafeString | str:
        """As :func:`when_html`."""
        if value is None:
            return ""
        local = timezone.localtime(value, self.zone)
        # Another day's date may go above its time where a column is short of room.
        compact = " ".join(f"<span>{escape(part)}</span>" for part in self._compact_parts(local))
        return SafeString(
            f'<time class="eztm-when" datetime="{local.isoformat(timespec="seconds")}" '
            f'title="{escape(self._full(local))}">{compact}</time>'
        )

    def url(self, model: type[Model], page: str, pk: int) -> str:
        """As :func:`~eztaskmanager_admin.pages.page_url` of one object, reversed once a page."""
        key = (model, page)
        if key not in self._urls:
            url = page_url(self.admin_site_name, model, page, int(PLACEHOLDER))
            self._urls[key] = url.split(PLACEHOLDER)
        return str(pk).join(self._urls[key])

    def log_url(self, report_id: int, live: bool = False) -> str:
        """As :func:`log_url`."""
        return self.url(LaunchReport, "live_log_viewer" if live else "log_viewer", report_id)

    def duration(self, value: timedelta | None) -> str:
        """As :func:`format_duration`."""
        if value is None:
            return "-"
        seconds = max(value.total_seconds(), 0)
        if seconds < 10:
            return f"{self.number(seconds, 1)} s"
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

    def number(self, value: float, decimal_pos: int) -> str:
        """As ``number_format(value, decimal_pos)``, with the language's separators read once."""
        if self._separators is None:
            names = ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
            self._separators = tuple(get_format(name) for name in names)
        decimal, grouping, thousands = self._separators
        return numberformat.format(value, decimal, decimal_pos, grouping, thousands, use_l10n=True)

    def plural(self, singular: str, plural: str, n: int) -> str:
        """``ngettext(singular, plural, n) % {"n": n}``, looked up once per count."""
        key = (singular, n)
        if key not in self._plurals:
            self._plurals[key] = ngettext(singular, plural, n) % {"n": n}
        return self._plurals[key]

    def counts(self, n_errors: int, n_warnings: int) -> list[tuple[str, str]]:
        """A run's error and warning counts in words, with their kind, when there are any."""
        words = []
        if n_errors:
            words.append(("errors", self.plural("%(n)d error", "%(n)d errors", n_errors)))
        if n_warnings:
            words.append(("warnings", self.plural("%(n)d warning", "%(n)d warnings", n_warnings)))
        return words

    def counts_html(self, n_errors: int, n_warnings: int) -> SafeString | str:
        """As :func:`counts_html`."""
        if not n_errors and not n_warnings:
            return ""
        numbers = {"errors": n_errors, "warnings": n_warnings}
        return SafeString(
            "".join(
                f'<span class="eztm-chip eztm-chip-{kind}" title="{escape(words)}">'
                f"{numbers[kind]}</span>"
                for kind, words in self.counts(n_errors, n_warnings)
            )
        )

    def result_badge(
        self, result: str, report_id: int | None, reason: str = ""
    ) -> SafeString | str:
        """As :func:`result_badge`."""
        if not result:
            return "-"
        css = escape(result)
        label = escape(self.label("result", result))
        if report_id is None or not self.linked(report_id):
            if reason:
                return SafeString(
                    f'<span class="eztm-result eztm-result-{css}" title="{escape(reason)}">'
                    f"{label}</span>"
                )
            return SafeString(f'<span class="eztm-result eztm-result-{css}">{label}</span>')
        title = escape(reason or self.label("word", "show_log"))
        return SafeString(
            f'<a class="eztm-result eztm-result-{css}" href="{escape(self.log_url(report_id))}" '
            f'title="{title}">{label}</a>'
        )

    def run_badge(self, report: LaunchReport) -> SafeString | str:
        """As :func:`run_badge`."""
        if report.state == LaunchReport.STATE_FINISHED:
            return self.result_badge(report.invocation_result, report.pk, report.reason)
        css = escape(report.state)
        label = escape(self.label("state", report.state).upper())  # as results are
        if not self.linked(report.pk):
            return SafeString(f'<span class="eztm-result eztm-state-{css}">{label}</span>')
        return SafeString(
            f'<a class="eztm-result eztm-state-{css}" '
            f'href="{escape(self.log_url(report.pk, live=True))}" '
            f'title="{escape(self.label("word", "follow"))}">{label}</a>'
        )

    def status_badge(self, task: Task, active_report_id: int | None = None) -> SafeString:
        """As :func:`status_badge`."""
        css = escape(task.status)
        label = escape(self.label("status", task.status))
        if (
            active_report_id is not None
            and task.status in ACTIVE_STATUSES
            and self.linked(active_report_id)
        ):
            return SafeString(
                f'<a class="eztm-status eztm-status-{css}" '
                f'href="{escape(self.log_url(active_report_id, live=True))}" '
                f'title="{escape(self.label("word", "follow"))}">{label}</a>'
            )
        return SafeString(
            f'<span class="eztm-status eztm-status-{css}" '
            f'title="{escape(self.label("help", task.status) if task.status in STATUS_HELP else "")}">'
            f"{label}</span>"
        )


def format_duration(value: timedelta | None) -> str:
    """A duration as people say it: ``0.8 s``, ``42 s``, ``3 min 05 s``, ``2 h 10 min``."""
    return Texts().duration(value)


def run_duration(report: LaunchReport, now: datetime | None = None) -> timedelta | None:
    """How long a run took, or has lasted so far while it goes on; None if it never started."""
    if report.state in LaunchReport.RUNNING_STATES:
        return (now or timezone.now()) - report.invocation_datetime
    return report.duration


def counts_html(n_errors: int, n_warnings: int) -> SafeString | str:
    """Small chips with a run's error and warning counts, when there are any."""
    return Texts().counts_html(n_errors, n_warnings)


def status_badge(
    task: Task, admin_site_name: str, active_report_id: int | None = None
) -> SafeString:
    """A task's status as a badge; while a run is going on, a link to its live log."""
    return Texts(admin_site_name).status_badge(task, active_report_id)


def refresh_fragment(key: str, content: SafeString | str, tag: str = "span") -> SafeString:
    """A piece of a page that ``refresh.js`` replaces with its newer copy while runs go on."""
    return SafeString(
        f'<{tag} data-eztm-refresh="{escape(key)}">{conditional_escape(content)}</{tag}>'
    )


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
    return SafeString(
        "".join(
            f'<span class="eztm-line">{conditional_escape(line)}</span>' for line in lines if line
        )
    )


def quiet(text: SafeString | str) -> SafeString | str:
    return SafeString(f'<span class="eztm-quiet">{conditional_escape(text)}</span>') if text else ""


def empty() -> SafeString:
    return SafeString('<span class="eztm-quiet">-</span>')


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


def report_visible(user: Any, owner: str) -> Case | Value:
    """An annotation: whether ``user`` may open the report whose user is the field ``owner``
    (``report__started_by_id``), worked out by the database for a list's rows at once."""
    if sees_all_reports(user):
        return Value(True)
    return Case(
        When(**{owner: user.pk}, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def started_by(report: LaunchReport) -> str:
    """Who or what started a run, in words: "alice via the admin", "the schedule (armed by
    bob)", "a chain"; "-" for a run from before runs kept it (``started_by`` read with it)."""
    if not report.origin:
        return "-"
    through = origins.LABELS.get(report.origin, report.origin)
    user = report.started_by.get_username() if report.started_by_id else ""
    if not user:
        return str(through)
    if report.origin in (origins.ADMIN, origins.API, origins.CODE):
        return _("%(user)s via %(through)s") % {"user": user, "through": through}
    if report.origin == origins.SCHEDULE:
        return _("the schedule (armed by %(user)s)") % {"user": user}
    return _("%(through)s (on behalf of %(user)s)") % {"through": through, "user": user}
