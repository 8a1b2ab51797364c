"""A custom notifier: POST each run's summary as JSON to a webhook URL.

This is the complete example of docs/how-to/custom-notifier.md, tested by
test_webhook.py. It needs nothing but the standard library.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.core import checks

from eztaskmanager.exceptions import NotificationError
from eztaskmanager.services.notifications import NotificationHandler, format_duration


class WebhookNotifier(NotificationHandler):
    """POST a JSON summary of each run at or above ``level`` to ``url``."""

    def __init__(
        self,
        url: str = "",
        level: str = "failed",
        headers: dict[str, str] | None = None,
        timeout: float = 5,
    ) -> None:
        super().__init__(level)  # checks the level name
        self.url = url
        self.headers = headers or {}
        self.timeout = timeout

    def emit(self, report) -> None:
        notification = self.get_notification(report)  # what to say, built by the core
        payload = {
            "task": notification.task_name,
            "result": notification.result,
            "errors": notification.n_errors,
            "warnings": notification.n_warnings,
            "duration": format_duration(notification.duration),
            "log_url": notification.url,
            "log_tail": notification.log_tail,
            "text": notification.text,
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
        except (urllib.error.URLError, OSError) as exc:  # HTTPError is a URLError
            # The runner logs this and carries on: the run's result is never affected.
            raise NotificationError(f"webhook {self.url} refused the notification: {exc}") from exc

    def check(self) -> list[checks.CheckMessage]:
        if not self.url.startswith(("https://", "http://")):
            return [
                checks.Error(
                    f"Notifier {self.alias!r} (webhook) has no http(s) URL: {self.url!r}.",
                    hint='Set OPTIONS["url"] to the webhook address, e.g. "https://hooks.example.com/ops".',
                    id="myproject.E001",
                )
            ]
        return []
