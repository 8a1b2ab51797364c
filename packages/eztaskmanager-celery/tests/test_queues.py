"""A queue per task: a task's runs are published to the Celery queue it names."""

from datetime import timedelta

import pytest
import redis
from celery import Celery
from django.utils import timezone
from kombu import Connection, Exchange, Queue

from eztaskmanager.exceptions import TaskNotRunnable
from eztaskmanager.models import LaunchReport
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_celery import CeleryBackend
from eztaskmanager_celery.timetable import run_job_id

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
HEAVY = "eztm-heavy"


@pytest.fixture
def heavy(app, redis_url):
    """The ``eztm-heavy`` queue on the test broker, declared and empty."""
    with Connection(redis_url) as conn:
        channel = conn.default_channel
        channel.client.delete(HEAVY)
        Queue(HEAVY, Exchange(HEAVY), routing_key=HEAVY)(channel).declare()
    yield HEAVY
    redis.Redis.from_url(redis_url).delete(HEAVY)


def offline_app(**conf) -> Celery:
    app = Celery("eztm_queues", set_as_current=False)
    app.conf.update(conf)
    return app


def test_without_a_list_any_queue_goes_as_it_is():
    assert CeleryBackend(app=offline_app()).queue_names() == []


def test_the_queues_option_lists_them_after_the_default():
    backend = CeleryBackend(app=offline_app(), queue="light", queues=["heavy", "light"])
    assert backend.queue_names() == ["light", "heavy"]


def test_else_the_apps_task_queues_after_its_default_queue():
    app = offline_app(task_queues=[Queue("heavy"), Queue("celery")], task_default_queue="celery")
    assert CeleryBackend(app=app).queue_names() == ["celery", "heavy"]


def test_a_run_is_published_to_the_tasks_queue(app, task, queued, heavy):
    backend = CeleryBackend(
        app=app, queue="eztm-unit", apply_async_options={"routing_key": "eztm-unit"}
    )
    report = backend.add(task(LIVE, "--limit=1", queue=heavy))
    (message,) = queued(heavy)
    assert message.headers["id"] == report.job_id
    # The task's queue wins over the queue option and the options' routing key.
    assert queued("eztm-unit") == []
    assert queued("eztm-unit-default") == []


def test_an_unknown_queue_is_refused_when_the_queues_are_listed(app, task, queued):
    backend = CeleryBackend(app=app, queue="eztm-unit", queues=[HEAVY])
    t = task(LIVE, queue="nowhere")
    with pytest.raises(TaskNotRunnable, match=r"queue 'nowhere'.*eztm-unit, eztm-heavy"):
        backend.add(t)
    assert not LaunchReport.objects.exists()
    assert queued("nowhere") == []


def test_the_beat_fires_a_schedule_on_the_tasks_queue(app, task, queued, heavy, beat):
    at = timezone.now() + timedelta(hours=1)
    t = task(LIVE, "--limit=1,--sleep=0", queue=heavy, scheduling=at)
    get_task_service().add(t)
    beat().tick_tasks(now=at + timedelta(seconds=0.1))
    (message,) = queued(heavy)
    assert message.headers["id"] == run_job_id(t.pk, at)
    assert queued("eztm-unit") == []
