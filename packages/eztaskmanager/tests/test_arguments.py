import pytest
from django.core.exceptions import ValidationError

from eztaskmanager.arguments import InvalidArguments, split_arguments
from eztaskmanager.models import Task

SPLITS = [
    ("", []),
    ("   ", []),
    ("--limit=200,--verbosity=3", ["--limit=200", "--verbosity=3"]),
    (
        "-f, --secondarg param1 param2, --thirdarg=pippo, --thirdarg",
        ["-f", "--secondarg", "param1", "param2", "--thirdarg=pippo", "--thirdarg"],
    ),
    ('--title="Hello, world"', ["--title=Hello, world"]),
    ("--title 'two words', -f", ["--title", "two words", "-f"]),
    ("a,,b", ["a", "b"]),
    ("--title=it's", None),  # unbalanced quote
    ("$(rm -rf /); echo", ["$(rm", "-rf", "/);", "echo"]),  # no shell: inert text
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_split_arguments(text, expected):
    if expected is None:
        with pytest.raises(InvalidArguments, match="Cannot read the arguments"):
            split_arguments(text)
    else:
        assert split_arguments(text) == expected


VALIDATIONS = [
    ("", None),
    ("--limit=200,--verbosity=3", None),
    ("-f, --secondarg param1 param2, --mode=slow", None),
    ('one two, --title="a, b"', None),
    ("--limit=abc", "invalid int value: 'abc'"),
    ("--unknown=1", "unrecognized arguments: --unknown=1"),
    ("--mode=medium", "--mode: invalid choice"),
    ("--secondarg", "expected at least one argument"),
    ("--verbosity=9", "--verbosity: invalid choice"),
    ("--help", "would stop the command"),
    ("--title='open", "Cannot read the arguments"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("arguments", "error"), VALIDATIONS)
def test_task_full_clean_validates_arguments(task, arguments, error):
    t = task("sample_args", app_name="tests.testapp")
    t.arguments = arguments
    if error is None:
        t.full_clean()
    else:
        with pytest.raises(ValidationError) as excinfo:
            t.full_clean()
        assert list(excinfo.value.message_dict) == ["arguments"]
        assert error in excinfo.value.message_dict["arguments"][0]


@pytest.mark.django_db
def test_required_option_is_checked(task):
    t = task("sample_required", app_name="tests.testapp")
    with pytest.raises(ValidationError, match="--target"):
        t.full_clean()
    t.arguments = "--target=db"
    t.full_clean()
    assert t.options == {"target": "db"}


@pytest.mark.django_db
def test_options_and_args(task):
    t = task("sample_args", "x y, --limit=5, -f", app_name="tests.testapp")
    assert t.args == ["x", "y", "--limit=5", "-f"]
    assert t.complete_args == t.args
    assert t.options == {"names": ["x", "y"], "limit": 5, "force": True}


@pytest.mark.django_db
def test_missing_command_module_is_a_form_error(command):
    missing = command("does_not_exist", app_name="tests.testapp")
    t = Task(name="x", command=missing, arguments="")
    with pytest.raises(ValidationError) as excinfo:
        t.full_clean()
    assert "cannot be loaded" in excinfo.value.message_dict["arguments"][0]


@pytest.mark.django_db
def test_periodic_fields_are_checked_together(task):
    t = task("sample_args", app_name="tests.testapp")
    t.repetition_period = "hour"
    with pytest.raises(ValidationError) as excinfo:
        t.full_clean()
    assert set(excinfo.value.message_dict) == {"repetition_rate"}
    t.repetition_rate = 2
    with pytest.raises(ValidationError) as excinfo:
        t.full_clean()
    assert set(excinfo.value.message_dict) == {"scheduling"}
