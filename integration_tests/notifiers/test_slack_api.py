"""The Slack notifier through slack_sdk to a real HTTP server answering like Slack's Web API."""

import time

import pytest

from integration_tests.notifiers.runs import FAILING, LIVE, notifier_errors, run
from testsupport.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def slack_notifier(server, level="failed", **options):
    options = {"token": "xoxb-good", "channel": "#ops", "base_url": server.base_url, **options}
    return {"BACKEND": "slack", "LEVEL": level, "OPTIONS": options}


def test_a_failed_run_is_posted_with_a_colour_and_a_fallback(slack, notifiers):
    notifiers({"team-slack": slack_notifier(slack)})
    report = run(FAILING)
    (request,) = slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-good"
    assert request.headers["Content-Type"].startswith("application/json")
    (message,) = slack.messages
    assert message["channel"] == "#ops"
    assert message["text"].startswith(f"[FAILED] {report.task.name}: errors: 1, warnings: 0, ")
    (attachment,) = message["attachments"]
    assert attachment["color"] == "#b3261e"
    section_texts = [b["text"]["text"] for b in attachment["blocks"] if "text" in b]
    assert any("RuntimeError: This command always fails" in t for t in section_texts)
    button = attachment["blocks"][-1]["elements"][0]
    assert button["url"] == f"https://tm.example.com/taskmanager/log_viewer/{report.pk}/"


def test_levels_with_the_live_logging_command(slack, notifiers):
    notifiers(
        {"ok": slack_notifier(slack, "ok", channel="C0TEAM"), "failures": slack_notifier(slack)}
    )
    run(LIVE, "--limit=5,--sleep=0")
    run(LIVE, "--limit=5,--sleep=0,--warning-prob=1")
    assert [(m["channel"], m["attachments"][0]["color"]) for m in slack.messages] == [
        ("C0TEAM", "#2eb67d"),
        ("C0TEAM", "#ecb22e"),
    ]
    assert slack.messages[1]["text"].startswith("[WARNINGS] ")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"token": "xoxb-revoked"}, "invalid_auth: check the notifier's token"),
        ({"channel": "#nowhere"}, "#nowhere: channel_not_found: check the channel name or id"),
    ],
)
def test_slack_errors_are_logged_and_the_run_is_intact(slack, notifiers, caplog, options, reason):
    notifiers({"team-slack": slack_notifier(slack, **options)})
    report = run(FAILING)
    assert len(slack.requests) == 1 and slack.messages == []
    (error,) = notifier_errors(caplog)
    assert reason in error
    assert "Slack notifier 'team-slack' could not post to" in caplog.text
    assert report.invocation_result == "failed" and report.n_log_lines == 2
    assert report.task.status == "idle"


def test_one_bad_channel_does_not_stop_the_others(slack, notifiers, caplog):
    notifiers({"team-slack": slack_notifier(slack, channel="#nowhere, #ops, C0TEAM")})
    run(FAILING)
    assert [m["channel"] for m in slack.messages] == ["#ops", "C0TEAM"]
    (error,) = notifier_errors(caplog)
    assert "#nowhere: channel_not_found" in error and "#ops" not in error


def test_rate_limiting_with_retry_after(slack, notifiers, caplog):
    notifiers({"team-slack": slack_notifier(slack)})
    slack.rate_limit(1)  # a short wait is honoured, then the retry gets through
    started = time.monotonic()
    run(FAILING)
    assert 1 <= time.monotonic() - started < 5
    assert len(slack.requests) == 2 and len(slack.messages) == 1

    slack.rate_limit(60)  # a long one is not waited for: the worker moves on
    started = time.monotonic()
    report = run(FAILING)
    assert time.monotonic() - started < 5
    assert len(slack.requests) == 3 and len(slack.messages) == 1
    (error,) = notifier_errors(caplog)
    assert "ratelimited (retry after 60 s)" in error
    assert report.invocation_result == "failed"


def test_an_api_that_is_down(notifiers, caplog):
    url = f"http://127.0.0.1:{free_port()}/api/"
    notifiers(
        {
            "team-slack": {
                "BACKEND": "slack",
                "OPTIONS": {"token": "x", "channel": "#a", "base_url": url},
            }
        }
    )
    report = run(FAILING)
    (error,) = notifier_errors(caplog)
    assert f"cannot reach the Slack API at {url}" in error
    assert report.invocation_result == "failed" and report.task.status == "idle"
