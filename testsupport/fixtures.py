"""pytest fixtures shared by every suite (registered by the root conftest.py), and the
test database's flush made to outlive a deadlock with a worker (:mod:`testsupport.flush`).

The ``command`` and ``task`` factories import the models when a test asks for them: some
suites' projects (the demo's) do not install the core app at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from testsupport import flush
from testsupport.redis import running_redis


def pytest_configure(config: pytest.Config) -> None:
    # Workers keep running between integration tests; see testsupport.flush.
    flush.install()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a real Redis server, started for the session when REDIS_URL is not set."""
    with running_redis() as url:
        yield url


@pytest.fixture
def command(db: None) -> Callable[..., object]:
    """``command(name="test_livelogging_command", app_name=..., active=True)``: a collected
    command, created when missing (:func:`testsupport.tasks.make_command`)."""
    from testsupport.tasks import make_command

    return make_command


@pytest.fixture
def task(db: None) -> Callable[..., object]:
    """``task(command=None, arguments=None, **fields)``: a saved task; with no command, a
    quick run of the live-logging command (:func:`testsupport.tasks.make_task`)."""
    from testsupport.tasks import make_task

    return make_task
