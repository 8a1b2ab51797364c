"""A project configured as the 0.1 docs show: flat settings and the seed's class paths."""

import pytest
from django.test import override_settings

from eztaskmanager.checks import check_settings
from eztaskmanager.conf import get_config
from integration_tests.notifiers.conftest import use_smtp
from integration_tests.notifiers.runs import FAILING, LIVE, notifier_errors, run
from testsupport.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EMAIL_CLASS = "eztaskmanager.services.notifications.EmailNotificationHandler"
SLACK_CLASS = "eztaskmanager.services.notifications.SlackNotificationHandler"


def seed_settings(handlers, **more):
    # EZTASKMANAGER=None: nothing but the seed's flat settings.
    return override_settings(
        EZTASKMANAGER=None,
        EZTASKMANAGER_QUEUE_SERVICE_TYPE="immediate",
        EZTASKMANAGER_BASE_URL="https://tm.example.com",
        EZTASKMANAGER_NOTIFICATION_HANDLERS=handlers,
        **more,
    )


def test_email_and_slack_handlers_from_the_seed_docs(smtp, slack):
    handlers = {
        "email-errors": {
            "class": EMAIL_CLASS,
            "level": "failure",
            "from_email": "admin@example.com",
            "recipients": ["admin@example.com"],
        },
        "slack": {
            "class": SLACK_CLASS,
            "level": "errors",
            "token": "xoxb-good",
            "channel": "#ops, C0TEAM",  # as read from EZTASKMANAGER_NOTIFICATIONS_SLACK_CHANNELS
            "base_url": slack.base_url,
        },
    }
    with seed_settings(handlers, EZTASKMANAGER_N_LINES_IN_REPORT_LOG=1):
        assert check_settings() == []
        run(LIVE, "--limit=5,--sleep=0,--error-prob=1")  # errors: Slack only
        report = run(FAILING)
    assert [m["text"].split()[0] for m in slack.messages] == [
        "[ERRORS]",
        "[ERRORS]",
        "[FAILED]",
        "[FAILED]",
    ]
    assert [m["channel"] for m in slack.messages] == ["#ops", "C0TEAM", "#ops", "C0TEAM"]
    (mail,) = smtp.received
    assert (mail.mail_from, mail.rcpt_tos) == ("admin@example.com", ["admin@example.com"])
    assert mail.message["Subject"] == f"[FAILED] {report.task.name}"
    text = mail.part("text/plain")
    assert text.rstrip().endswith("RuntimeError: This command always fails")
    assert "About to fail" not in text  # EZTASKMANAGER_N_LINES_IN_REPORT_LOG = 1
    assert f"Log: https://tm.example.com/taskmanager/log_viewer/{report.pk}/" in text


def test_seed_handlers_with_their_servers_down(settings, caplog):
    use_smtp(settings, free_port())
    handlers = {
        "mail": {
            "class": EMAIL_CLASS,
            "level": "failure",
            "from_email": "a@x.io",
            "recipients": "b@x.io",
        },
        "slack": {
            "class": SLACK_CLASS,
            "level": "failure",
            "token": "xoxb-good",
            "channel": "#ops",
            "base_url": f"http://127.0.0.1:{free_port()}/api/",
        },
    }
    with seed_settings(handlers):
        report = run(FAILING)
    errors = notifier_errors(caplog)
    assert len(errors) == 2
    assert "could not send to b@x.io" in errors[0] and "cannot reach the Slack API" in errors[1]
    assert report.invocation_result == "failed" and report.n_log_lines == 2
    assert report.task.status == "idle"


def test_the_seed_level_name_failure_means_failed():
    handlers = {"mail": {"class": EMAIL_CLASS, "level": "failure", "recipients": "b@x.io"}}
    with seed_settings(handlers):
        notifier = get_config()["NOTIFIERS"]["mail"]
        assert notifier == {
            "BACKEND": EMAIL_CLASS,
            "LEVEL": "failure",
            "OPTIONS": {"recipients": "b@x.io"},
        }
        from eztaskmanager.registry import get_notifiers

        (handler,) = get_notifiers()
    assert handler.level == "failed" and handler.alias == "mail"
