"""System checks: Redis reachable, django-rq installed, this package's worker and scheduler."""

import pytest

from eztaskmanager.registry import get_backend
from eztaskmanager_rq.scheduler import Scheduler
from eztaskmanager_rq.worker import Worker
from testsupport.net import free_port


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_check_is_silent_when_all_is_well(backend):
    assert backend.check() == []


def test_check_errors_without_any_connection(settings):
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": "nowhere"}}
    messages = get_backend().check()
    assert ids(messages) == ["eztaskmanager_rq.E001"]
    assert "RQ_QUEUES" in messages[0].msg and "url" in messages[0].msg


def test_check_warns_when_redis_cannot_be_reached(settings):
    port = free_port()
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{port}/0"},
    }
    messages = get_backend().check()
    assert ids(messages) == ["eztaskmanager_rq.W001"]
    assert f"127.0.0.1:{port}" in messages[0].msg
    assert messages[0].hint


def test_check_warns_when_django_rq_is_not_installed(settings, backend):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "django_rq"]
    assert ids(get_backend().check()) == ["eztaskmanager_rq.W002"]


def test_rqs_own_classes_are_warned_about_with_what_is_lost_and_the_fix(settings, backend):
    del settings.RQ  # django-rq's defaults: rq.Worker and its DjangoScheduler
    worker, scheduler = backend.check()
    assert (worker.id, scheduler.id) == ("eztaskmanager_rq.W003", "eztaskmanager_rq.W004")
    assert "rqworker runs with rq.Worker" in worker.msg
    assert "killed" in worker.msg and "HEARTBEAT_TIMEOUT" in worker.msg
    assert 'RQ = {"WORKER_CLASS": "eztaskmanager_rq.worker.Worker"}' in worker.hint
    assert "--worker-class eztaskmanager_rq.worker.Worker" in worker.hint
    assert "django_rq.queues.DjangoScheduler" in scheduler.msg
    assert "books again the schedules Redis lost" in scheduler.msg
    assert "eztaskmanager_resync" in scheduler.msg
    assert 'RQ = {"SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler"}' in scheduler.hint


class MyWorker(Worker):
    pass


class MyScheduler(Scheduler):
    pass


@pytest.mark.parametrize(
    ("worker_class", "scheduler_class"),
    [
        ("eztaskmanager_rq.worker.SimpleWorker", "eztaskmanager_rq.scheduler.Scheduler"),
        (MyWorker, MyScheduler),  # classes (django-rq accepts them) and subclasses
    ],
)
def test_subclasses_and_the_simple_worker_are_fine(
    settings, backend, worker_class, scheduler_class
):
    settings.RQ = {"WORKER_CLASS": worker_class, "SCHEDULER_CLASS": scheduler_class}
    assert backend.check() == []


def test_a_class_that_does_not_import_is_named(settings, backend):
    settings.RQ = {
        "WORKER_CLASS": "myproject.workers.Missing",
        "SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler",
    }
    [message] = backend.check()
    assert message.id == "eztaskmanager_rq.W003"
    assert "myproject.workers.Missing (which cannot be imported)" in message.msg


def test_the_core_check_reports_them(settings):
    from eztaskmanager.checks import check_settings

    settings.RQ = {"WORKER_CLASS": "rq.worker.SimpleWorker"}
    assert {"eztaskmanager_rq.W003", "eztaskmanager_rq.W004"} <= set(ids(check_settings()))
