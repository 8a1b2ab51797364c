"""The ``slack`` notifier: posts a message per finished run with slack_sdk's ``WebClient``.

Slack's refusals (``invalid_auth``, ``channel_not_found``, rate limiting) and network
errors are logged with Slack's reason and raised as ``NotificationError``; the runner
logs that and carries on, so the run's result and report are never affected.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core import checks

from eztaskmanager.exceptions import NotificationError
from eztaskmanager.services.notifications import NotificationHandler, split_list
from eztaskmanager_slack.compat import (
    ConnectionErrorRetryHandler,
    SlackApiError,
    SlackClientError,
    WebClient,
)
from eztaskmanager_slack.message import build_message
from eztaskmanager_slack.retry import BoundedRateLimitRetryHandler, retry_after

if TYPE_CHECKING:
    from eztaskmanager.models import LaunchReport

logger = logging.getLogger(__name__)

# What to do about the errors a misconfigured notifier gets from Slack.
ERROR_HINTS = {
    "invalid_auth": "check the notifier's token",
    "not_authed": "set the notifier's token",
    "token_revoked": "the token was revoked: create a new one",
    "account_inactive": "the token's app or user was deactivated",
    "channel_not_found": "check the channel name or id",
    "not_in_channel": "invite the Slack app to the channel",
    "is_archived": "the channel is archived",
    "ratelimited": "Slack is rate limiting this app; fewer notifications (a higher LEVEL) help",
    "missing_scope": "give the app the chat:write scope",
}


class SlackNotifier(NotificationHandler):
    """Post a summary of each run at or above ``level`` to one or more Slack channels.

    The positional order ``(token, channel, level)`` is the seed's
    ``SlackNotificationHandler`` signature. ``base_url`` points the client at another
    Web API root (a proxy, or a test server).
    """

    def __init__(
        self,
        token: str | None = None,
        channel: str | Iterable[str] | None = None,
        level: str = "failed",
        base_url: str | None = None,
        timeout: float = 10,
        rate_limit_retries: int = 1,
        max_retry_after: float = 10,
        *,
        alias: str = "",
    ) -> None:
        super().__init__(level, alias=alias)
        self.token = (token or "").strip()
        self.channels = split_list(channel)
        options: dict[str, Any] = {"token": self.token or None, "timeout": timeout}
        if base_url:
            options["base_url"] = base_url
        options["retry_handlers"] = [
            ConnectionErrorRetryHandler(max_retry_count=1),
            BoundedRateLimitRetryHandler(
                max_retry_count=int(rate_limit_retries), max_wait=float(max_retry_after)
            ),
        ]
        self.client = WebClient(**options)

    def emit(self, report: LaunchReport) -> None:
        if not self.token or not self.channels:
            raise NotificationError(f"Slack notifier {self.alias!r} has no token or channel.")
        message = build_message(self.get_notification(report))
        failures = []
        for channel in self.channels:
            reason = self.post(channel, message)
            if reason:
                logger.warning(
                    "Slack notifier %r could not post to %s: %s", self.alias, channel, reason
                )
                failures.append(f"{channel}: {reason}")
        if failures:
            raise NotificationError(
                f"Slack notifier {self.alias!r} could not post to {'; '.join(failures)}"
            )

    def post(self, channel: str, message: dict[str, Any]) -> str | None:
        """Post to one channel; return the reason it failed, or ``None``."""
        try:
            self.client.chat_postMessage(channel=channel, **message)
        except SlackApiError as exc:
            return describe_api_error(exc)
        except (SlackClientError, OSError) as exc:
            return f"cannot reach the Slack API at {self.client.base_url}: {exc}"
        return None

    def check(self) -> list[checks.CheckMessage]:
        options = (("token", self.token), ("channel", self.channels))
        missing = [name for name, value in options if not value]
        if not missing:
            return []
        return [
            checks.Error(
                f"Notifier {self.alias!r} (slack) has no {' and no '.join(missing)}.",
                hint='Set OPTIONS["token"] to the Slack app\'s bot token (xoxb-...) and '
                'OPTIONS["channel"] to a channel name or id, or a list of them.',
                id="eztaskmanager_slack.E001",
            )
        ]


def describe_api_error(exc: SlackApiError) -> str:
    """Slack's error code and what to do about it, e.g. ``invalid_auth: check the token``."""
    response = exc.response
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or ("ratelimited" if response.status_code == 429 else ""))
    # A proxy's error page ends up in "error" ("non-JSON format: <html>..."): keep it short.
    reason = code[:200] or f"HTTP {response.status_code}"
    if response.status_code == 429:
        wait = retry_after(response.headers or {})
        if wait is not None:
            reason += f" (retry after {wait:g} s)"
    hint = ERROR_HINTS.get(code)
    return f"{reason}: {hint}" if hint else reason
