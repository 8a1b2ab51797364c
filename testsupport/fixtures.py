"""pytest fixtures shared by every suite (registered by the root conftest.py).

The ``command`` and ``task`` factories import the models when a test asks for them: some
suites' projects (the demo's) do not install the core app at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from testsupport.redis import running_redis


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
