import pytest
from django.test import override_settings

from eztaskmanager.checks import check_settings


def run_checks(**notifier):
    config = {"BACKEND": "immediate", "NOTIFIERS": {"ops-mail": {"BACKEND": "email", **notifier}}}
    with override_settings(EZTASKMANAGER=config):
        return check_settings()


def test_a_complete_notifier_passes():
    assert run_checks(OPTIONS={"recipients": ["ops@example.com", "Ops <o@example.com>"]}) == []


@pytest.mark.parametrize("recipients", [None, "", [], " , "])
def test_missing_recipients(recipients):
    (message,) = run_checks(LEVEL="failed", OPTIONS={"recipients": recipients})
    assert message.id == "eztaskmanager_email.E001"
    assert "'ops-mail'" in message.msg and "no recipients" in message.msg
    assert 'OPTIONS["recipients"]' in message.hint


def test_an_invalid_address():
    (message,) = run_checks(OPTIONS={"recipients": "ops@example.com, not-an-address"})
    assert message.id == "eztaskmanager_email.E002"
    assert "'not-an-address'" in message.msg


def test_unknown_option_and_unknown_level_name_the_notifier():
    (message,) = run_checks(OPTIONS={"recipients": "a@x.io", "cc": "b@x.io"})
    assert message.id == "eztaskmanager.E004"
    assert 'EZTASKMANAGER["NOTIFIERS"]["ops-mail"]' in message.msg and "cc" in message.msg
    (message,) = run_checks(LEVEL="sometimes", OPTIONS={"recipients": "a@x.io"})
    assert message.id == "eztaskmanager.E004" and "unknown notification level" in message.msg


def test_seed_flat_settings_with_the_seed_class_path():
    handlers = {
        "email-errors": {
            "class": "eztaskmanager.services.notifications.EmailNotificationHandler",
            "level": "failure",
            "from_email": "admin@example.com",
            "recipients": "",
        }
    }
    with override_settings(EZTASKMANAGER=None, EZTASKMANAGER_NOTIFICATION_HANDLERS=handlers):
        # The backend (RQ by default with flat settings) may add its own messages.
        messages = [m for m in check_settings() if m.id.startswith("eztaskmanager_email.")]
    (message,) = messages
    assert message.id == "eztaskmanager_email.E001"
    assert "'email-errors'" in message.msg
