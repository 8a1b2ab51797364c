import pytest
from django.core import checks
from django.test import override_settings

from eztaskmanager.checks import BACKEND_ERRORS, NOTIFIER_ERRORS, check_settings, error_of
from eztaskmanager.exceptions import (
    ConfigurationError,
    InvalidName,
    InvalidNotifiers,
    InvalidOptions,
)
from eztaskmanager.services.notifications import NotificationHandler


class ConfiguredNotifier(NotificationHandler):
    """A notifier with a required option and its own check."""

    def __init__(self, token, level="failed"):
        super().__init__(level)
        self.token = token

    def emit(self, report):
        pass

    def check(self):
        if not self.token:
            return [checks.Error("token is empty", hint="set it", id="tests.E001")]
        return []


def ids(messages):
    return sorted(m.id for m in messages)


def run_checks(config):
    with override_settings(EZTASKMANAGER=config):
        return check_settings()


def test_valid_configuration_has_no_messages():
    assert run_checks({"BACKEND": "immediate"}) == []


def test_default_backend_warns():
    with override_settings(EZTASKMANAGER=None):
        (message,) = check_settings()
    assert message.id == "eztaskmanager.W001"
    assert "immediate" in message.msg and message.hint


def test_unknown_backend():
    (message,) = run_checks({"BACKEND": "rqq"})
    assert message.id == "eztaskmanager.E001"
    assert message.hint


def test_bad_backend_options():
    (message,) = run_checks({"BACKEND": "immediate", "OPTIONS": {"queue": "x"}})
    assert message.id == "eztaskmanager.E002"
    assert "queue" in message.msg


@pytest.mark.parametrize(
    ("notifier", "fragment"),
    [
        ({"BACKEND": "carrier-pigeon"}, "unknown name 'carrier-pigeon'"),
        ({"BACKEND": "locmem", "LEVEL": "catastrophic"}, "unknown notification level"),
        ({"BACKEND": f"{__name__}.ConfiguredNotifier"}, "token"),  # missing required option
        ({"BACKEND": "locmem", "OPTIONS": {"color": "red"}}, "color"),  # unexpected option
        ("locmem", "expected a dict"),
    ],
)
def test_bad_notifiers(notifier, fragment):
    (message,) = run_checks({"BACKEND": "immediate", "NOTIFIERS": {"ops": notifier}})
    assert message.id == "eztaskmanager.E004"
    assert 'EZTASKMANAGER["NOTIFIERS"]["ops"]' in message.msg
    assert fragment in message.msg


def test_notifier_own_check_is_run():
    notifier = {"BACKEND": f"{__name__}.ConfiguredNotifier", "OPTIONS": {"token": ""}}
    (message,) = run_checks({"BACKEND": "immediate", "NOTIFIERS": {"ops": notifier}})
    assert message.id == "tests.E001"


def test_notifiers_must_be_a_dict():
    assert ids(run_checks({"BACKEND": "immediate", "NOTIFIERS": ["x"]})) == ["eztaskmanager.E003"]


@pytest.mark.parametrize("value", [0, -1, "5", True, None])
def test_numbers(value):
    (message,) = run_checks({"BACKEND": "immediate", "REPORTS_KEPT": value})
    assert message.id == "eztaskmanager.E006"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ARTIFACTS_MAX_SIZE", 0),
        ("ARTIFACTS_MAX_SIZE", "10MB"),
        ("ARTIFACTS_MAX_SIZE", 1.5),
        ("REPORTS_MAX_AGE_DAYS", -1),
        ("REPORTS_MAX_AGE_DAYS", "30"),
        ("DEBUG_LINES_MAX_AGE_DAYS", float("nan")),
        ("DEBUG_LINES_MAX_AGE_DAYS", True),
    ],
)
def test_retention_numbers(key, value):
    (message,) = run_checks({"BACKEND": "immediate", key: value})
    assert message.id == "eztaskmanager.E008"
    assert key in message.msg


@pytest.mark.parametrize(
    ("key", "value"),
    [("ARTIFACTS_MAX_SIZE", None), ("REPORTS_MAX_AGE_DAYS", 0), ("DEBUG_LINES_MAX_AGE_DAYS", 7.5)],
)
def test_retention_numbers_that_are_fine(key, value):
    assert run_checks({"BACKEND": "immediate", key: value}) == []


def test_the_artifacts_storage_must_be_a_storages_alias():
    (message,) = run_checks({"BACKEND": "immediate", "ARTIFACTS_STORAGE": "bucket"})
    assert message.id == "eztaskmanager.E009"
    assert "'bucket'" in message.msg and "default" in message.hint


def test_checks_are_registered():
    with override_settings(EZTASKMANAGER={"BACKEND": "rqq"}):
        assert "eztaskmanager.E001" in ids(checks.run_checks())


def test_a_broken_notifier_beside_a_working_one():
    working = {"BACKEND": f"{__name__}.ConfiguredNotifier", "OPTIONS": {"token": ""}}
    config = {"BACKEND": "immediate", "NOTIFIERS": {"a": {"BACKEND": "nope"}, "b": working}}
    assert ids(run_checks(config)) == ["eztaskmanager.E004", "tests.E001"]


@pytest.mark.parametrize(
    ("error", "kinds", "check_id"),
    [
        (InvalidName("x"), BACKEND_ERRORS, "eztaskmanager.E001"),
        (InvalidOptions("x"), BACKEND_ERRORS, "eztaskmanager.E002"),
        (ConfigurationError("x"), BACKEND_ERRORS, "eztaskmanager.E001"),
        (InvalidNotifiers("x"), NOTIFIER_ERRORS, "eztaskmanager.E003"),
        (InvalidOptions("x"), NOTIFIER_ERRORS, "eztaskmanager.E004"),
        (InvalidName("x"), NOTIFIER_ERRORS, "eztaskmanager.E004"),
    ],
)
def test_the_id_comes_from_the_error_class(error, kinds, check_id):
    message = error_of(error, kinds)
    assert (message.id, message.msg) == (check_id, "x")
    assert message.hint
