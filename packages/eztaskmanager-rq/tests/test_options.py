"""Options and connection of the rq backend."""

import pytest

from eztaskmanager.exceptions import InvalidOptions, TaskNotRunnable
from eztaskmanager.registry import build_backend, get_backend
from eztaskmanager_rq import RQBackend
from eztaskmanager_rq.backend import JOB_TIMEOUT_GRACE, MAX_TIMEOUT

TIMEOUTS = f"a number of seconds up to {MAX_TIMEOUT}, or -1 for none"


def test_rq_name_builds_the_backend(backend, queue_name):
    assert isinstance(backend, RQBackend)
    assert backend.queue_name == queue_name
    assert backend.supports_schedule and backend.supports_stop


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue": ""}, "'queue' must be a queue name, not ''."),
        ({"queue": None}, "'queue' must be a queue name, not None."),
        (
            {"url": "localhost:6379"},
            "'url' must be a Redis URL such as redis://localhost:6379/0, not 'localhost:6379'.",
        ),
        ({"timeout": 0}, f"'timeout' must be {TIMEOUTS}, not 0."),
        ({"timeout": "10"}, f"'timeout' must be {TIMEOUTS}, not '10'."),
        ({"timeout": True}, f"'timeout' must be {TIMEOUTS}, not True."),
        ({"timeout": 2**31}, f"'timeout' must be {TIMEOUTS}, not {2**31}."),
        (
            {"result_ttl": -5},
            "'result_ttl' must be a number of seconds, or -1 to keep results for ever, not -5.",
        ),
        (
            {"colour": "red"},
            "unknown option 'colour'; the options are queue, url, timeout, result_ttl.",
        ),
    ],
)
def test_bad_options_are_refused_in_the_core_style(options, message):
    with pytest.raises(InvalidOptions) as refused:
        build_backend({"BACKEND": "rq", "OPTIONS": options})
    assert str(refused.value) == f'EZTASKMANAGER["OPTIONS"]: rq: {message}'


def test_good_options(redis_url):
    backend = RQBackend(queue="q", url=redis_url, timeout=-1, result_ttl=-1)
    assert (backend.queue_name, backend.url, backend.timeout, backend.result_ttl) == (
        "q",
        redis_url,
        -1,
        -1,
    )
    assert RQBackend().queue_name == "default"


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


def test_close_lets_go_of_the_client_made_from_the_url(redis_url):
    backend = RQBackend(queue="other", url=redis_url)
    made = backend.connection
    assert made.ping() and backend.own_client is made
    backend.close()
    assert backend.own_client is None
    assert backend.connection is not made  # a new one, made when needed again
    backend.close()


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
    assert RQBackend(timeout=backend.max_timeout).timeout == backend.max_timeout


def test_the_seeds_flat_setting_selects_this_backend(settings, redis_url):
    del settings.EZTASKMANAGER
    settings.EZTASKMANAGER_QUEUE_SERVICE_TYPE = "RQ"
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    backend = get_backend()
    assert isinstance(backend, RQBackend)
    assert backend.queue_name == "default"
    assert backend.check() == []
