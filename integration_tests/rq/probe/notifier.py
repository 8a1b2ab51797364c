"""A notifier that appends one JSON line per notification to a file, for tests across processes.

Runs end in the worker processes (a lost run is ended by the worker that saw its
work-horse die), whose memory the tests cannot read: a file they can.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from eztaskmanager.services.notifications import NotificationHandler

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport


class FileNotifier(NotificationHandler):
    def __init__(self, path: str, level: str = "ok") -> None:
        super().__init__(level)
        self.path = path

    def emit(self, report: LaunchReport) -> None:
        notification = self.get_notification(report)
        line = {"report": report.pk, "result": notification.result, "reason": notification.reason}
        with open(self.path, "a") as file:
            file.write(json.dumps(line) + "\n")


def read(path: str) -> list[dict]:
    try:
        with open(path) as file:
            return [json.loads(line) for line in file if line.strip()]
    except FileNotFoundError:
        return []
