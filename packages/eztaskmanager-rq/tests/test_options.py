"""Options, connection and system checks of the rq backend."""

import pytest

from eztaskmanager.exceptions import ConfigurationError
from eztaskmanager.registry import build_backend, get_backend
from eztaskmanager_rq import RQBackend
from testsupport.net import free_port


def test_rq_name_builds_the_backend(backend, queue_name):
    assert isinstance(backend, RQBackend)
    assert backend.queue_name == queue_name
    assert backend.supports_schedule and backend.supports_stop


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"queue": ""}, "'queue' must be"),
        ({"url": "localhost:6379"}, "'url' must be a Redis URL"),
        ({"timeout": 0}, "'timeout' must be"),
        ({"timeout": "10"}, "'timeout' must be"),
        ({"result_ttl": -5}, "'result_ttl' must be"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_options_are_configuration_errors(options, words):
    with pytest.raises(ConfigurationError, match=words):
        build_backend({"BACKEND": "rq", "OPTIONS": options})


def test_bad_options_are_reported_by_the_core_check(settings):
    from eztaskmanager.checks import check_settings

    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"timeout": -3}}
    ids = [m.id for m in check_settings()]
    assert "eztaskmanager.E002" in ids


def test_connection_comes_from_rq_queues(backend, redis_url):
    assert backend.connection.ping()
    assert backend.queue.connection is backend.connection


def test_url_option_when_queue_not_in_rq_queues(settings, redis_url):
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": "other", "url": redis_url}}
    backend = get_backend()
    assert backend.queue_config is None
    assert backend.connection.ping()
    assert backend.check() == []


def test_check_is_silent_when_redis_answers(backend):
    assert backend.check() == []


def test_check_errors_without_any_connection(settings):
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": "nowhere"}}
    messages = get_backend().check()
    assert [m.id for m in messages] == ["eztaskmanager_rq.E001"]
    assert "RQ_QUEUES" in messages[0].msg and "url" in messages[0].msg


def test_check_warns_when_redis_cannot_be_reached(settings):
    port = free_port()
    settings.EZTASKMANAGER = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "down", "url": f"redis://127.0.0.1:{port}/0"},
    }
    messages = get_backend().check()
    assert [m.id for m in messages] == ["eztaskmanager_rq.W001"]
    assert f"127.0.0.1:{port}" in messages[0].msg
    assert messages[0].hint


def test_check_warns_when_django_rq_is_not_installed(settings, backend):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "django_rq"]
    assert [m.id for m in get_backend().check()] == ["eztaskmanager_rq.W002"]


@pytest.mark.parametrize(
    ("task_timeout", "option", "queue_default", "expected"),
    [(None, None, None, -1), (None, None, 600, 600), (None, 30, 600, 30), (5, 30, 600, 5)],
)
def test_job_timeout_precedence(
    settings, redis_url, queue_name, task, task_timeout, option, queue_default, expected
):
    config = {"URL": redis_url}
    if queue_default:
        config["DEFAULT_TIMEOUT"] = queue_default
    settings.RQ_QUEUES = {queue_name: config}
    options = {"queue": queue_name}
    if option:
        options["timeout"] = option
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": options}
    assert get_backend().job_timeout(task(timeout=task_timeout)) == expected


def test_the_seeds_flat_setting_selects_this_backend(settings, redis_url):
    del settings.EZTASKMANAGER
    settings.EZTASKMANAGER_QUEUE_SERVICE_TYPE = "RQ"
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    backend = get_backend()
    assert isinstance(backend, RQBackend)
    assert backend.queue_name == "default"
    assert backend.check() == []
