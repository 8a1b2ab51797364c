"""Notifications sent when a run ends: the notifier base class and the message it sends.

The base class decides *whether* to notify (the run's result against the notifier's
level) and *what* to say (:class:`Notification`, built once from the report); a
notifier only sends it. The seed's ``EmailNotificationHandler`` and
``SlackNotificationHandler`` still import from here: they live in the notifier packages
and are loaded on first use.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.core.checks import CheckMessage
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from eztaskmanager.conf import get_setting
from eztaskmanager.exceptions import InvalidOptions, NotificationError
from eztaskmanager.moved import moved_classes
from eztaskmanager.registry import get_notifiers

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport

logger = logging.getLogger(__name__)

# From the most to the least severe; a notifier fires for results at or above its level.
# A run stopped by a user (or lost while stopping) ranks between failed and errors.
LEVELS = ("failed", "stopped", "errors", "warnings", "ok")
LEVEL_ALIASES = {"failure": "failed", "error": "errors", "warning": "warnings"}

# Seed class names and where they live now, with the extra that installs each.
SEED_HANDLERS = {
    "EmailNotificationHandler": ("eztaskmanager_email", "EmailNotifier", "email"),
    "SlackNotificationHandler": ("eztaskmanager_slack", "SlackNotifier", "slack"),
}


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """A list of names, or one comma-separated string (as read from an env var), cleaned."""
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [item.strip() for item in value if item and item.strip()]


def normalize_level(level: str) -> str:
    """Return the canonical level name; raise ``InvalidOptions`` for an unknown one."""
    name = LEVEL_ALIASES.get(str(level).lower(), str(level).lower())
    if name not in LEVELS:
        raise InvalidOptions(
            f"unknown notification level {level!r}; use one of {', '.join(LEVELS)}."
        )
    return name


def get_base_url() -> str | None:
    """The site's absolute URL: ``EZTASKMANAGER["BASE_URL"]``, else the Sites framework."""
    base_url = get_setting("BASE_URL")
    if base_url:
        return str(base_url).rstrip("/")
    if apps.is_installed("django.contrib.sites"):
        from django.contrib.sites.models import Site  # importable only where it is installed

        try:
            return f"https://{Site.objects.get_current().domain}"
        except Exception:  # no SITE_ID, no row: a link is a nicety, not a reason to fail
            logger.debug("No current site to build notification links from", exc_info=True)
    return None


def log_viewer_url(report: LaunchReport) -> str | None:
    """The absolute URL of the report's log viewer, or ``None`` if it cannot be built."""
    base_url = get_base_url()
    if base_url is None:
        return None
    try:
        return base_url + reverse("eztaskmanager:log_viewer", args=[report.pk])
    except NoReverseMatch:
        return None


@dataclass
class Notification:
    """What a notifier says about a finished run."""

    task_name: str
    result: str
    n_errors: int
    n_warnings: int
    duration: timedelta | None
    log_tail: list[str] = field(default_factory=list)
    url: str | None = None
    reason: str = ""
    # What the run ran with (the report's own copy; the task may have changed since).
    command: str = ""
    arguments: str = ""

    @property
    def subject(self) -> str:
        return f"[{self.result.upper()}] {self.task_name}"

    @property
    def text(self) -> str:
        """A plain-text rendering, for email bodies and chat fallbacks."""
        lines = [
            _("Task: %(name)s") % {"name": self.task_name},
            _("Result: %(result)s") % {"result": self.result.upper()},
            _("Errors: %(errors)d, warnings: %(warnings)d")
            % {"errors": self.n_errors, "warnings": self.n_warnings},
            _("Duration: %(duration)s") % {"duration": format_duration(self.duration)},
        ]
        if self.command:
            lines.append(_("Command: %(command)s") % {"command": self.command})
        if self.arguments:
            lines.append(_("Arguments: %(arguments)s") % {"arguments": self.arguments})
        if self.reason:
            lines.append(_("Why: %(reason)s") % {"reason": self.reason})
        if self.url:
            lines.append(_("Log: %(url)s") % {"url": self.url})
        if self.log_tail:
            lines += ["", _("Last lines of the log:"), *self.log_tail]
        return "\n".join(lines)

    @classmethod
    def from_report(cls, report: LaunchReport) -> Notification:
        return cls(
            task_name=report.task.name,
            result=report.invocation_result,
            n_errors=report.n_log_errors,
            n_warnings=report.n_log_warnings,
            duration=report.duration,
            # Its lines were stored with the task's secret arguments masked (the runner's
            # log handler): the tail shows them as *** already.
            log_tail=report.log_tail(get_setting("REPORT_LOG_TAIL_LINES")),
            url=log_viewer_url(report),
            reason=report.reason,
            command=report.ran_command,
            arguments=report.ran_arguments,
        )


def format_duration(duration: timedelta | None) -> str:
    if duration is None:
        return "-"
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


class NotificationHandler(abc.ABC):
    """Base class of notifiers: ``handle()`` filters by level, ``emit()`` sends.

    ``alias`` is the notifier's name in ``EZTASKMANAGER["NOTIFIERS"]``, which the registry
    gives to the constructor (a subclass passes it on); a subclass whose constructor takes
    no ``alias`` still gets it, set on the instance once it is built.
    """

    def __init__(self, level: str = "failed", *, alias: str = "") -> None:
        self.level = normalize_level(level)
        self.alias = alias

    def should_notify(self, result: str) -> bool:
        """Whether a run with ``result`` is at or above this notifier's level."""
        if result not in LEVELS:
            return False  # still running
        return LEVELS.index(result) <= LEVELS.index(self.level)

    def handle(self, report: LaunchReport) -> bool:
        """Send a notification for the report if its result calls for one."""
        if not self.should_notify(report.invocation_result):
            return False
        self.emit(report)
        return True

    def get_notification(self, report: LaunchReport) -> Notification:
        return Notification.from_report(report)

    @abc.abstractmethod
    def emit(self, report: LaunchReport) -> None:
        """Send the notification; raise ``NotificationError`` when it cannot be sent."""

    def check(self) -> list[CheckMessage]:
        """System check messages about this notifier's configuration."""
        return []

    def close(self) -> None:  # noqa: B027 - optional: most notifiers hold nothing open
        """Let go of what the notifier holds open; called when the settings change."""


def emit_notifications(report: LaunchReport) -> None:
    """Give the report to every notifier; a failing (or broken) one never fails the run,
    nor silences the others."""
    for notifier in get_notifiers():
        try:
            notifier.handle(report)
        except NotificationError as exc:  # its message already says why
            logger.error("Notifier %r could not notify about %s: %s", notifier.alias, report, exc)
        except Exception:
            logger.exception("Notifier %r could not notify about %s", notifier.alias, report)


__getattr__ = moved_classes(__name__, SEED_HANDLERS, "notifier")
