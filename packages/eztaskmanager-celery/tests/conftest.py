from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
import redis
from kombu import Connection, Exchange, Queue

from eztaskmanager.registry import reset
from eztaskmanager_celery.beat import TaskScheduler
from tests.celery_app import app as celery_app

QUEUES = ("eztm-unit", "eztm-unit-default", "eztm-other")


@dataclass
class Message:
    """A message as the broker holds it: Celery's headers and properties, decoded body."""

    headers: dict
    properties: dict
    body: list


@pytest.fixture
def app(redis_url):
    """The test Celery app on the session's real Redis, its queues declared and empty."""
    celery_app.conf.broker_url = redis_url
    celery_app.conf.result_backend = redis_url
    celery_app.close()
    reset()
    with Connection(redis_url) as conn:
        channel = conn.default_channel
        channel.client.delete(*QUEUES)
        for name in QUEUES:
            Queue(name, Exchange(name), routing_key=name)(channel).declare()
    yield celery_app


@pytest.fixture
def beat(app):
    """Start a beat scheduler (as ``celery beat -S`` does); call again to "restart" it."""
    made = []

    def start(celery_app=None):
        scheduler = TaskScheduler(app=celery_app or app)
        made.append(scheduler)
        return scheduler

    yield start
    for scheduler in made:
        scheduler.close()


@pytest.fixture
def queued(redis_url):
    """Take what was published to a queue: ``queued("eztm-unit")`` -> list of messages."""
    client = redis.Redis.from_url(redis_url)

    def read(queue: str = "eztm-unit") -> list[Message]:
        messages = []
        # Kombu keeps one list per priority step: "<queue>", "<queue>\x06\x163", ...
        for key in [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]:
            while (raw := client.rpop(key)) is not None:
                payload = json.loads(raw)
                body = json.loads(base64.b64decode(payload["body"]))
                messages.append(Message(payload["headers"], payload["properties"], body))
        return messages

    yield read
    client.close()
