"""Import slack_sdk, or fail with the pip command that installs it."""

from __future__ import annotations

try:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError
    from slack_sdk.http_retry import RetryHandler
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'The Slack notifier needs slack_sdk: pip install "django-eztaskmanager[slack]"'
    ) from exc

__all__ = [
    "ConnectionErrorRetryHandler",
    "RetryHandler",
    "SlackApiError",
    "SlackClientError",
    "WebClient",
]
