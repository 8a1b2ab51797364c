"""pytest fixtures shared by every suite (registered by the root conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testsupport.redis import running_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a real Redis server, started for the session when REDIS_URL is not set."""
    with running_redis() as url:
        yield url
