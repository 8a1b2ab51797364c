"""Options and connection of the rq backend."""

import pytest

from eztaskmanager.exceptions import ConfigurationError, TaskNotRunnable
from eztaskmanager.registry import build_backend, get_backend
from eztaskmanager_rq import RQBackend
from eztaskmanager_rq.backend import JOB_TIMEOUT_GRACE


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


@pytest.mark.parametrize(
    ("task_timeout", "option", "queue_default", "run", "job"),
    [
        (None, None, None, None, -1),
        (None, -1, 600, None, -1),
        (None, None, 600, 600, 630),
        (None, 30, 600, 30, 60),
        (5, 30, 600, 5, 35),
    ],
)
def test_timeout_precedence(
    settings, redis_url, queue_name, task, task_timeout, option, queue_default, run, job
):
    """The task's, else the option, else the queue's; RQ's job gets 30 s more, or never."""
    config = {"URL": redis_url}
    if queue_default:
        config["DEFAULT_TIMEOUT"] = queue_default
    settings.RQ_QUEUES = {queue_name: config}
    options = {"queue": queue_name}
    if option:
        options["timeout"] = option
    settings.EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": options}
    backend = get_backend()
    t = task(timeout=task_timeout)
    assert backend.run_timeout(t) == run
    assert backend.job_timeout(t) == job


def test_a_timeout_beyond_what_rq_can_arm_is_refused(backend, task):
    """signal.alarm() takes a C int: RQ could not arm a longer one (the run would stay spooled)."""
    assert backend.max_timeout == 2**31 - 1 - JOB_TIMEOUT_GRACE
    t = task()
    t.timeout = backend.max_timeout + 1  # more than the model allows, as an old row might hold
    with pytest.raises(TaskNotRunnable, match="more than the RQBackend backend allows"):
        backend.add(t)
    with pytest.raises(ConfigurationError, match="'timeout' must be at most"):
        build_backend({"BACKEND": "rq", "OPTIONS": {"timeout": 2**31}})


def test_the_seeds_flat_setting_selects_this_backend(settings, redis_url):
    del settings.EZTASKMANAGER
    settings.EZTASKMANAGER_QUEUE_SERVICE_TYPE = "RQ"
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    backend = get_backend()
    assert isinstance(backend, RQBackend)
    assert backend.queue_name == "default"
    assert backend.check() == []
