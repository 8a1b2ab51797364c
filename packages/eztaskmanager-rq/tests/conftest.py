import gc
import signal
import uuid

import pytest
from redis import Redis

from eztaskmanager.registry import get_backend


@pytest.fixture
def queue_name() -> str:
    """A queue of this test's own, so that tests never see each other's jobs."""
    return f"eztm-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def rq_settings(settings, redis_url, queue_name):
    """Point django-rq and the backend at the test Redis, on a queue of the test's own."""
    settings.RQ_QUEUES = {queue_name: {"URL": redis_url}}
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": queue_name}}
    yield
    Redis.from_url(redis_url).delete(f"rq:queue:{queue_name}")


@pytest.fixture
def backend(rq_settings):
    return get_backend()


@pytest.fixture
def keep_signal_handlers():
    """RQ's worker and rq-scheduler install their own SIGINT/SIGTERM handlers: give
    pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def unfreeze():
    """A started worker leaves its heap out of garbage collections: not the test's process."""
    yield
    gc.unfreeze()
