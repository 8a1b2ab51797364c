"""The one helper that reads a backend's or notifier's OPTIONS against its table."""

import pytest

from eztaskmanager.exceptions import ConfigurationError, InvalidOptions
from eztaskmanager.options import Option, read_options

TABLE = {
    "queue": Option("a queue name", default="default", types=str, blank=False),
    "timeout": Option("a number of seconds, or -1 for none", types=int, minimum=1, also=(-1,)),
    "ratio": Option("a number from 0 to 1", default=0.5, types=(int, float), minimum=0, maximum=1),
    "signal": Option(
        "a signal name", default="SIGKILL", types=str, valid=lambda v: v.startswith("SIG")
    ),
}


def test_defaults_are_filled_in():
    assert read_options("mine", TABLE, {"timeout": 30}) == {
        "queue": "default",
        "timeout": 30,
        "ratio": 0.5,
        "signal": "SIGKILL",
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"queue": ""}, "mine: 'queue' must be a queue name, not ''."),
        ({"queue": 3}, "mine: 'queue' must be a queue name, not 3."),
        ({"timeout": 0}, "mine: 'timeout' must be a number of seconds, or -1 for none, not 0."),
        (
            {"timeout": "10"},
            "mine: 'timeout' must be a number of seconds, or -1 for none, not '10'.",
        ),
        (
            {"timeout": True},
            "mine: 'timeout' must be a number of seconds, or -1 for none, not True.",
        ),
        ({"ratio": 2}, "mine: 'ratio' must be a number from 0 to 1, not 2."),
        ({"signal": "KILL"}, "mine: 'signal' must be a signal name, not 'KILL'."),
        (
            {"colour": "red"},
            "mine: unknown option 'colour'; the options are queue, timeout, ratio, signal.",
        ),
        (
            {"a": 1, "b": 2},
            "mine: unknown options 'a', 'b'; the options are queue, timeout, ratio, signal.",
        ),
    ],
)
def test_one_message_style(given, message):
    with pytest.raises(InvalidOptions) as caught:
        read_options("mine", TABLE, given)
    assert str(caught.value) == message


def test_accepted_extras_and_none_default():
    values = read_options("mine", TABLE, {"timeout": -1, "ratio": 1})
    assert (values["timeout"], values["ratio"]) == (-1, 1)
    assert read_options("mine", TABLE, {})["timeout"] is None  # its default


def test_an_error_is_a_configuration_error_and_a_value_error():
    with pytest.raises(InvalidOptions) as caught:
        read_options("mine", {}, {"queue": "x"})
    assert isinstance(caught.value, ConfigurationError)  # the registry's and checks' kind
    assert isinstance(caught.value, ValueError)  # what a constructor raised before


def test_no_options_at_all():
    with pytest.raises(InvalidOptions, match=r"^mine takes no options; got queue\.$"):
        read_options("mine", {}, {"queue": "x"})
    assert read_options("mine", {}, {}) == {}


def test_a_test_that_raises_refuses():
    def signum(value):
        return {"SIGTERM": 15}[value]  # KeyError for anything else

    table = {"signal": Option("a signal name", default="SIGTERM", valid=signum)}
    assert read_options("mine", table, {})["signal"] == "SIGTERM"
    with pytest.raises(InvalidOptions, match="'signal' must be a signal name"):
        read_options("mine", table, {"signal": "SIGNOPE"})
