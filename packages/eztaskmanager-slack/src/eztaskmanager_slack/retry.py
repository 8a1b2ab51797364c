"""Retry a rate-limited Slack call once, but only when Slack asks for a short wait.

slack_sdk's own ``RateLimitErrorRetryHandler`` sleeps for whatever ``Retry-After`` says;
a notifier runs in a queue worker right after a task, so a long wait would hold the
worker. Here a wait longer than ``max_wait`` seconds is not retried: the send fails
with Slack's reason and the runner carries on.
"""

from __future__ import annotations

import time

from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from eztaskmanager_slack.compat import RetryHandler


def retry_after(headers: dict) -> float | None:
    """The ``Retry-After`` seconds of a response, in any header case; ``None`` if absent."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


class BoundedRateLimitRetryHandler(RetryHandler):
    """Retry HTTP 429 answers up to ``max_retry_count`` times, waiting at most ``max_wait`` s."""

    def __init__(self, max_retry_count: int = 1, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return wait is None or wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after(response.headers) if response is not None else None
        state.next_attempt_requested = True
        time.sleep(min(self.max_wait, 1.0 if wait is None else wait))
        state.increment_current_attempt()
