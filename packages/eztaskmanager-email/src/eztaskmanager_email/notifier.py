"""The ``email`` notifier: one message per finished run, through Django's mail framework.

It sends with whatever ``EMAIL_BACKEND`` the project configured (SMTP, console, locmem in
tests) and never configures mail itself. The message has a plain-text body and an HTML
alternative rendered from ``eztaskmanager_email/notification.html``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from email.utils import parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from eztaskmanager.exceptions import NotificationError
from eztaskmanager.services.notifications import Notification, NotificationHandler, split_list
from eztaskmanager_email.rendering import render_html

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport

logger = logging.getLogger(__name__)


class EmailNotifier(NotificationHandler):
    """Email a summary of each run at or above ``level`` to ``recipients``.

    The positional order ``(from_email, recipients, level)`` is the seed's
    ``EmailNotificationHandler`` signature, kept for projects that build it by hand.
    """

    def __init__(
        self,
        from_email: str | None = None,
        recipients: str | Iterable[str] | None = None,
        level: str = "failed",
        subject_prefix: str = "",
        *,
        alias: str = "",
    ) -> None:
        super().__init__(level, alias=alias)
        self.from_email = from_email or None  # None: DEFAULT_FROM_EMAIL, read when sending
        self.recipients = split_list(recipients)
        self.subject_prefix = subject_prefix or ""

    def get_subject(self, notification: Notification) -> str:
        # Header values must not hold newlines; a task name is typed by an admin.
        subject = f"{self.subject_prefix}{notification.subject}"
        return " ".join(subject.split())

    def build_message(self, report: LaunchReport) -> EmailMultiAlternatives:
        """The email for a report: plain text plus an HTML alternative."""
        notification = self.get_notification(report)
        message = EmailMultiAlternatives(
            subject=self.get_subject(notification),
            body=notification.text,
            from_email=self.from_email or settings.DEFAULT_FROM_EMAIL,
            to=self.recipients,
        )
        message.attach_alternative(render_html(notification), "text/html")
        return message

    def emit(self, report: LaunchReport) -> None:
        if not self.recipients:
            raise NotificationError(f"Email notifier {self.alias!r} has no recipients.")
        message = self.build_message(report)
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning(
                "Email notifier %r could not send %r to %s: %s",
                self.alias,
                message.subject,
                ", ".join(self.recipients),
                exc,
            )
            raise NotificationError(
                f"Email notifier {self.alias!r} could not send to "
                f"{', '.join(self.recipients)}: {exc}"
            ) from exc

    def check(self) -> list[checks.CheckMessage]:
        if not self.recipients:
            return [
                checks.Error(
                    f"Notifier {self.alias!r} (email) has no recipients.",
                    hint='Set its OPTIONS["recipients"] to a list of addresses, or to a '
                    "comma-separated string (e.g. read from an environment variable).",
                    id="eztaskmanager_email.E001",
                )
            ]
        return [
            checks.Error(
                f"Notifier {self.alias!r} (email): {address!r} is not a valid email address.",
                hint='Fix or remove it in OPTIONS["recipients"].',
                id="eztaskmanager_email.E002",
            )
            for address in self.recipients
            if not _is_valid_address(address)
        ]


def _is_valid_address(address: str) -> bool:
    """Accept ``user@example.com`` and ``Name <user@example.com>``, as Django's mail does."""
    try:
        validate_email(parseaddr(address)[1])
    except ValidationError:
        return False
    return True
