import pytest

from eztaskmanager.models import AppCommand, Task


@pytest.fixture
def command(db):
    """Factory of active AppCommand rows for commands of the installed apps."""

    def make(name: str, app_name: str = "eztaskmanager", active: bool = True) -> AppCommand:
        return AppCommand.objects.create(name=name, app_name=app_name, active=active)

    return make


@pytest.fixture
def task(command):
    """Factory of saved tasks: ``task("test_stdout_command", "--lines=2")``."""

    def make(name: str, arguments: str = "", app_name: str = "eztaskmanager", **fields) -> Task:
        cmd = AppCommand.objects.filter(name=name, app_name=app_name).first() or command(
            name, app_name
        )
        return Task.objects.create(name=f"{name} task", command=cmd, arguments=arguments, **fields)

    return make
