"""Real servers on loopback for the notifiers, and a helper to configure them per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from integration_tests.notifiers.smtp import SMTPServer
from testsupport.fake_slack import FakeSlackAPI
from testsupport.httpserver import LoopbackHTTPServer


def use_smtp(settings, port: int) -> None:
    """Send mail over SMTP to 127.0.0.1:port (Django's test setup had switched to locmem)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_PORT = port


@pytest.fixture
def smtp(settings) -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port; Django's SMTP backend uses it."""
    server = SMTPServer()
    try:
        server.__enter__()
    except Exception as exc:
        pytest.fail(f"cannot start the aiosmtpd SMTP server on 127.0.0.1:{server.port}: {exc}")
    use_smtp(settings, server.port)
    try:
        yield server
    finally:
        server.__exit__()


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    """A real HTTP server answering like Slack's ``chat.postMessage`` (token ``xoxb-good``)."""
    with FakeSlackAPI() as server:
        yield server


@pytest.fixture
def webhook() -> Iterator[LoopbackHTTPServer]:
    """A real HTTP server that accepts every POST and records it."""
    with LoopbackHTTPServer() as server:
        yield server


@pytest.fixture
def notifiers():
    """Set ``EZTASKMANAGER["NOTIFIERS"]`` for the test: ``notifiers({"ops": {...}})``."""
    overrides = []

    def configure(definitions: dict, **config) -> None:
        override = override_settings(
            EZTASKMANAGER={
                "BACKEND": "immediate",
                "BASE_URL": "https://tm.example.com",
                "NOTIFIERS": definitions,
                **config,
            }
        )
        override.enable()
        overrides.append(override)

    yield configure
    for override in reversed(overrides):
        override.disable()
