"""The ``locmem`` notifier keeps notifications in memory, like Django's locmem mail backend.

Configure it in a test settings file and read ``eztaskmanager.notifiers.locmem.outbox``
to check what your project's runs would have notified, without a network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eztaskmanager.services.notifications import Notification, NotificationHandler

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport

outbox: list[Notification] = []


class LocmemNotifier(NotificationHandler):
    """Append each notification to the module-level ``outbox`` list."""

    def emit(self, report: LaunchReport) -> None:
        outbox.append(self.get_notification(report))
