import subprocess
import sys

import pytest
from django.test import override_settings

from eztaskmanager.checks import check_settings


def run_checks(**notifier):
    config = {"BACKEND": "immediate", "NOTIFIERS": {"team-slack": {"BACKEND": "slack", **notifier}}}
    with override_settings(EZTASKMANAGER=config):
        return check_settings()


def test_a_complete_notifier_passes():
    assert run_checks(OPTIONS={"token": "xoxb-1", "channel": ["#ops", "C0TEAM"]}) == []


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"channel": "#ops"}, "no token."),
        ({"token": "xoxb-1", "channel": ""}, "no channel."),
        ({"token": " ", "channel": " , "}, "no token and no channel."),
    ],
)
def test_missing_token_or_channel(options, missing):
    (message,) = run_checks(LEVEL="errors", OPTIONS=options)
    assert message.id == "eztaskmanager_slack.E001"
    assert message.msg == f"Notifier 'team-slack' (slack) has {missing}"
    assert 'OPTIONS["token"]' in message.hint


def test_unknown_option_names_the_notifier():
    (message,) = run_checks(OPTIONS={"token": "x", "channel": "#a", "webhook": "y"})
    assert message.id == "eztaskmanager.E004"
    assert 'EZTASKMANAGER["NOTIFIERS"]["team-slack"]' in message.msg and "webhook" in message.msg


def test_seed_flat_settings_with_the_seed_class_path():
    handlers = {
        "slack": {
            "class": "eztaskmanager.services.notifications.SlackNotificationHandler",
            "level": "errors",
            "token": "",
            "channel": "",
        }
    }
    with override_settings(EZTASKMANAGER=None, EZTASKMANAGER_NOTIFICATION_HANDLERS=handlers):
        # The backend (RQ by default with flat settings) may add its own messages.
        messages = [m for m in check_settings() if m.id.startswith("eztaskmanager_slack.")]
    (message,) = messages
    assert message.id == "eztaskmanager_slack.E001"
    assert "'slack'" in message.msg


def test_without_slack_sdk_the_check_names_the_extra():
    code = (
        "import sys; sys.modules['slack_sdk'] = None\n"
        "import django; from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['eztaskmanager'], EZTASKMANAGER={'BACKEND': "
        "'immediate', 'NOTIFIERS': {'team': {'BACKEND': 'slack'}}})\n"
        "django.setup()\n"
        "from eztaskmanager.checks import check_settings\n"
        "for m in check_settings(): print(m.id, m.msg)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('eztaskmanager.E004 EZTASKMANAGER["NOTIFIERS"]["team"]')
    assert 'pip install "django-eztaskmanager[slack]"' in result.stdout
