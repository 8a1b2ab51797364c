from collections.abc import Iterator

import pytest
from django.test import override_settings

from testsupport.fake_slack import FakeSlackAPI


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    """A Slack Web API stand-in on loopback; token ``xoxb-good``, channels ``#ops``, ``C0TEAM``."""
    with FakeSlackAPI() as server:
        yield server


@pytest.fixture
def notify(slack):
    """Configure one ``slack`` notifier against the stand-in: ``notify(LEVEL=..., channel=...)``."""
    overrides = []

    def configure(level: str = "errors", **options) -> None:
        options = {"token": "xoxb-good", "channel": "#ops", "base_url": slack.base_url, **options}
        config = {
            "BACKEND": "immediate",
            "BASE_URL": "https://tm.example.com",
            "REPORT_LOG_TAIL_LINES": 3,
            "NOTIFIERS": {"team-slack": {"BACKEND": "slack", "LEVEL": level, "OPTIONS": options}},
        }
        override = override_settings(EZTASKMANAGER=config)
        override.enable()
        overrides.append(override)

    yield configure
    for override in reversed(overrides):
        override.disable()
