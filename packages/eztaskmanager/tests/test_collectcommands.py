from io import StringIO

import pytest
from django.core.management import call_command

from eztaskmanager.models import AppCommand

pytestmark = pytest.mark.django_db


def collect(*args):
    out = StringIO()
    call_command("collectcommands", *args, stdout=out)
    return out.getvalue()


def test_collects_project_commands_inactive():
    output = collect("--excludecore", "-v2")
    names = set(AppCommand.objects.values_list("app_name", "name"))
    assert ("eztaskmanager", "test_livelogging_command") in names
    assert ("eztaskmanager", "collectcommands") in names
    assert ("tests.testapp", "sample_args") in names
    assert not any(app.startswith("django") for app, _name in names)
    assert not AppCommand.objects.filter(active=True).exists()
    assert "Added eztaskmanager: test_livelogging_command" in output


def test_includes_core_without_flag():
    collect()
    assert AppCommand.objects.filter(app_name="django.core", name="migrate").exists()
    assert AppCommand.objects.filter(app_name="django.contrib.auth", name="changepassword").exists()


def test_idempotent_and_keeps_user_choices():
    collect("--excludecore")
    count = AppCommand.objects.count()
    AppCommand.objects.filter(name="test_livelogging_command").update(active=True)
    AppCommand.objects.create(app_name="gone.app", name="old_command", active=True)
    output = collect("--excludecore", "-v2")
    assert AppCommand.objects.count() == count + 1
    assert AppCommand.objects.get(name="test_livelogging_command").active
    assert "Not available any more (kept): gone.app: old_command" in output
    assert "0 command(s) added" in output


def test_help_text_is_the_full_help():
    collect("--excludecore")
    command = AppCommand.objects.get(name="test_livelogging_command")
    assert "--trace-steps TRACE_STEPS" in command.help_text
    assert "Probability of warning emission" in command.help_text
    assert str(command) == "eztaskmanager: test_livelogging_command"
