import logging
import subprocess
import sys
import time

import pytest

from eztaskmanager.exceptions import NotificationError
from eztaskmanager.registry import get_notifiers
from eztaskmanager.services.notifications import split_list
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_slack import SlackNotifier
from testsupport.httpserver import Answer, LoopbackHTTPServer
from testsupport.net import free_port
from testsupport.tasks import make_task

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def run(command, arguments=""):
    task = make_task(command, arguments)
    get_task_service().add(task)
    task.refresh_from_db()
    return task.launchreport_set.get()


def notifier_error(caplog):
    """The error the runner logged for a failing notifier."""
    (record,) = [r for r in caplog.records if r.name == "eztaskmanager.services.notifications"]
    return record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")


def test_the_name_slack_resolves_to_the_notifier(notify):
    notify(channel="#ops, C0TEAM")
    (notifier,) = get_notifiers()
    assert isinstance(notifier, SlackNotifier)
    assert notifier.channels == ["#ops", "C0TEAM"]


def test_a_failed_run_is_posted(slack, notify):
    notify()
    report = run("test_failing_command")
    (request,) = slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-good"
    (payload,) = slack.messages
    assert payload["channel"] == "#ops"
    assert payload["text"].startswith(f"[FAILED] {report.task.name}: errors: 1, warnings: 0")
    (attachment,) = payload["attachments"]
    assert attachment["color"] == "#b3261e"
    blocks = attachment["blocks"]
    assert blocks[2]["text"]["text"] == "*Command* `eztaskmanager: test_failing_command`"
    assert "RuntimeError: This command always fails" in blocks[3]["text"]["text"]
    url = f"https://tm.example.com/taskmanager/logs/{report.pk}/"
    assert blocks[4]["elements"][0]["url"] == url


def test_levels_filter_what_is_posted(slack, notify):
    notify(level="warnings")
    run(LIVE, "--limit=2,--sleep=0")
    assert slack.requests == []
    run(LIVE, "--limit=2,--sleep=0,--warning-prob=1")
    run(LIVE, "--limit=2,--sleep=0,--error-prob=1")
    assert [m["text"].split()[0] for m in slack.messages] == ["[WARNINGS]", "[ERRORS]"]


def test_every_channel_gets_the_message(slack, notify):
    notify(channel=["#ops", "C0TEAM"])
    run("test_failing_command")
    assert [m["channel"] for m in slack.messages] == ["#ops", "C0TEAM"]


def test_invalid_auth_is_logged_and_the_run_is_intact(slack, notify, caplog):
    notify(token="xoxb-revoked")
    report = run("test_failing_command")
    assert slack.messages == [] and len(slack.requests) == 1
    assert "invalid_auth: check the notifier's token" in notifier_error(caplog)
    assert "could not post to #ops: invalid_auth" in caplog.text
    assert report.invocation_result == "failed" and report.n_log_lines == 2
    assert report.task.status == "idle"


def test_an_unknown_channel_does_not_stop_the_others(slack, notify, caplog):
    notify(channel="#nowhere,#ops")
    run("test_failing_command")
    assert [m["channel"] for m in slack.messages] == ["#ops"]
    assert "#nowhere: channel_not_found: check the channel name" in notifier_error(caplog)


def test_a_short_rate_limit_is_retried(slack, notify):
    notify()
    slack.rate_limit(0)
    run("test_failing_command")
    assert len(slack.requests) == 2
    assert len(slack.messages) == 1


def test_a_long_rate_limit_is_not_waited_for(slack, notify, caplog):
    notify()
    slack.rate_limit(120)
    started = time.monotonic()
    report = run("test_failing_command")
    assert time.monotonic() - started < 5
    assert len(slack.requests) == 1 and slack.messages == []
    assert "ratelimited (retry after 120 s)" in notifier_error(caplog)
    assert report.invocation_result == "failed"


def test_retries_are_bounded(slack, notify, caplog):
    notify(rate_limit_retries=2, max_retry_after=1)
    slack.rate_limit(0, 0, 0, 0)
    run("test_failing_command")
    assert len(slack.requests) == 3  # the first try and two retries
    assert "ratelimited (retry after 0 s)" in notifier_error(caplog)


def test_a_server_that_is_down(notify, caplog):
    caplog.set_level(logging.WARNING)
    notify(base_url=f"http://127.0.0.1:{free_port()}/api/")
    report = run("test_failing_command")
    assert "cannot reach the Slack API at http://127.0.0.1:" in notifier_error(caplog)
    assert report.invocation_result == "failed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("#a, C0B ,", ["#a", "C0B"]), (["#a", " #b "], ["#a", "#b"]), ("#a", ["#a"]), ("", [])],
)
def test_channels_from_one_a_list_or_an_env_string(value, expected):
    assert split_list(value) == expected


def test_seed_positional_signature():
    notifier = SlackNotifier("xoxb-1", "#ops", "failure")
    assert (notifier.token, notifier.channels, notifier.level) == ("xoxb-1", ["#ops"], "failed")


def test_without_slack_sdk_the_error_names_the_extra():
    code = (
        "import sys; sys.modules['slack_sdk'] = None\n"
        "import django; from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['eztaskmanager']); django.setup()\n"
        "try:\n    import eztaskmanager_slack\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == (
        'The Slack notifier needs slack_sdk: pip install "django-eztaskmanager[slack]"'
    )


def test_emit_without_token_raises(slack):
    with pytest.raises(NotificationError, match="no token or channel"):
        SlackNotifier("", "#ops", "ok", base_url=slack.base_url).emit(None)


def test_a_proxy_error_page_is_reported_briefly(notify):
    page = b"<html>" + b"Bad gateway " * 100 + b"</html>"
    with LoopbackHTTPServer(lambda request: Answer(502, page)) as proxy:
        notifier = SlackNotifier("xoxb-good", "#ops", base_url=f"{proxy.url}/api/")
        reason = notifier.post("#ops", {"text": "hi"})
    assert reason.startswith("Received a response in a non-JSON format: <html>Bad gateway")
    assert len(reason) <= 200
