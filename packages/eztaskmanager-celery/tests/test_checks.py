"""System checks of the Celery backend, run through the core's registered check."""

import time

import pytest
from celery import Celery
from django.test import override_settings

from eztaskmanager.checks import check_settings
from testsupport.net import free_port

SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"


def run_checks(**options):
    config = {"BACKEND": "celery", "OPTIONS": {"app": "tests.celery_app:app", **options}}
    with override_settings(EZTASKMANAGER=config):
        return check_settings()


def ids(messages):
    return sorted(m.id for m in messages)


def test_reachable_broker_has_no_messages(app):
    assert run_checks() == []


def test_unreachable_broker_warns_fast_with_a_hint():
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0")
    dead.conf.beat_scheduler = SCHEDULER
    started = time.monotonic()
    (message,) = run_checks(app=dead, connect_timeout=1)
    assert time.monotonic() - started < 3
    assert message.id == "eztaskmanager_celery.W001"
    assert "Cannot reach the Celery broker at redis://127.0.0.1:" in message.msg
    assert "start it" in message.hint


def test_app_without_broker_url_warns():
    assert "eztaskmanager_celery.W002" in ids(run_checks(app=Celery("nobroker"), connect_timeout=1))


def test_eager_app_needs_no_broker():
    eager = Celery("eager", broker=f"redis://127.0.0.1:{free_port()}/0")
    eager.conf.task_always_eager = True
    assert run_checks(app=eager) == []


def test_app_not_installed_is_an_error(app):
    apps = ["django.contrib.contenttypes", "django.contrib.auth", "eztaskmanager"]
    with override_settings(INSTALLED_APPS=apps):
        assert ids(run_checks()) == ["eztaskmanager_celery.E001"]


@pytest.mark.parametrize("value", ["nowhere.celery:app", 42])
def test_bad_app_option_is_reported(value):
    (message,) = run_checks(app=value)
    assert message.id == "eztaskmanager.E002"
    assert "app" in message.msg


def test_another_beat_scheduler_warns_that_schedules_will_not_fire(app):
    app.conf.beat_scheduler = "celery.beat:PersistentScheduler"
    try:
        (message,) = run_checks()
    finally:
        app.conf.beat_scheduler = SCHEDULER
    assert message.id == "eztaskmanager_celery.W003"
    assert "scheduled and periodic tasks will not start" in message.msg
    assert f"-S {SCHEDULER}" in message.hint
    assert f'CELERY_BEAT_SCHEDULER = "{SCHEDULER}"' in message.hint


def test_a_subclass_of_the_scheduler_is_ours(app):
    from eztaskmanager_celery.beat import TaskScheduler

    class Mine(TaskScheduler):
        pass

    app.conf.beat_scheduler = Mine
    try:
        assert run_checks() == []
    finally:
        app.conf.beat_scheduler = SCHEDULER
