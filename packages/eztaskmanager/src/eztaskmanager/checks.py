"""System checks: a wrong backend or notifier is reported at start-up, with the fix.

The check of the settings iterates the registry's handlers, as Django's own checks of
its task backends do: an alias that cannot be built is an error whose id its exception's
class chooses; one that can is asked for its own ``check()``. One more check is on the
database (``manage.py check --database default``, and ``migrate``): the saved tasks
whose arguments the command's parser no longer accepts, typically after an upgrade from
0.5, which split arguments differently.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.urls import get_resolver

from eztaskmanager import conf, registry
from eztaskmanager.arguments import InvalidArguments, load_command, parse_arguments, split_arguments
from eztaskmanager.exceptions import (
    ConfigurationError,
    InvalidName,
    InvalidNotifiers,
    InvalidOptions,
)

# The id and hint of each kind of configuration error, by the error's class (the most
# specific class wins).
BACKEND_ERRORS = {
    InvalidOptions: (
        "eztaskmanager.E002",
        "Check the options your backend accepts in its documentation.",
    ),
    InvalidName: (
        "eztaskmanager.E001",
        "Install the backend's package, or fix the name or dotted path.",
    ),
    ConfigurationError: ("eztaskmanager.E001", 'Fix EZTASKMANAGER["BACKEND"].'),
}
NOTIFIER_ERRORS = {
    InvalidNotifiers: (
        "eztaskmanager.E003",
        'e.g. {"ops": {"BACKEND": "email", "LEVEL": "failed", "OPTIONS": {...}}}',
    ),
    ConfigurationError: (
        "eztaskmanager.E004",
        "Install the notifier's package, or fix its BACKEND, LEVEL or OPTIONS.",
    ),
}


def error_of(exc: ConfigurationError, kinds: dict[type, tuple[str, str]]) -> Error:
    """The check message of ``exc``: the id and hint of its class in ``kinds``."""
    check_id, hint = next(kinds[cls] for cls in type(exc).__mro__ if cls in kinds)
    return Error(str(exc), hint=hint, id=check_id)


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    config = conf.get_config()
    messages = _check_numbers(config) + _check_log_to_console(config)
    messages += _check_retention(config) + _check_artifacts_storage(config)
    messages += _check_backend()
    messages += _messages(*registry.notifiers.build_each(), NOTIFIER_ERRORS)
    return messages


def _messages(
    built: list[Any], errors: list[ConfigurationError], kinds: dict[type, tuple[str, str]]
) -> list[CheckMessage]:
    """An error for each alias that could not be built, then the ``check()`` of each built."""
    messages: list[CheckMessage] = [error_of(exc, kinds) for exc in errors]
    for instance in built:
        messages += instance.check()
    return messages


def _check_backend() -> list[CheckMessage]:
    built, errors = registry.backends.build_each()
    choice = conf.backend_choice()
    if errors and choice == "seed":
        return [
            Error(
                "No backend is chosen and the flat EZTASKMANAGER_* settings are in use, so "
                "tasks run on RQ, as django-eztaskmanager 0.5 did; it cannot be used: "
                f"{errors[0]}",
                hint='Install it, or choose a backend: EZTASKMANAGER_QUEUE_SERVICE_TYPE = "RQ" '
                '(or "Celery", or "immediate"), or EZTASKMANAGER = {"BACKEND": ...}.',
                id="eztaskmanager.E001",
            )
        ]
    messages = _messages(built, errors, BACKEND_ERRORS)
    if choice == "default":
        messages.append(
            Warning(
                'No EZTASKMANAGER["BACKEND"] is set: tasks run with the "immediate" backend, '
                "inside the web request that starts them, and cannot be scheduled.",
                hint='Set EZTASKMANAGER = {"BACKEND": "rq"} (or "celery"), or set "immediate" '
                "explicitly to keep it.",
                id="eztaskmanager.W001",
            )
        )
    return messages


@register(Tags.compatibility)
def check_admin_installed(app_configs: Any = None, **kwargs: Any) -> list:
    """The seed's set-up (only "eztaskmanager" installed) needs the admin package's app now."""
    if apps.is_installed("eztaskmanager_admin"):
        return []
    problems = []
    if apps.is_installed("django.contrib.admin"):
        problems.append("the admin has no Commands and Tasks sections")
    if _urlconf_has_log_viewer():
        problems.append("the log viewer pages that the URLconf includes fail to render")
    if not problems:
        return []  # no admin and no log viewer: a project that runs tasks from code only
    missing = " and ".join(problems)
    install = "" if _admin_package_importable() else 'pip install "django-eztaskmanager[admin]", '
    return [
        Warning(
            f'"eztaskmanager_admin" is not in INSTALLED_APPS: {missing}. The admin and the '
            "log viewer now live in their own app, of the django-eztaskmanager-admin package.",
            hint=f'{install}add "eztaskmanager_admin" to INSTALLED_APPS after "eztaskmanager", '
            'and include("eztaskmanager_admin.urls") in your URLconf (the old '
            'include("eztaskmanager.urls") works too).',
            id="eztaskmanager.W002",
        )
    ]


def _urlconf_has_log_viewer() -> bool:
    """Whether the project's URLconf includes the log viewer (URL namespace ``eztaskmanager``)."""
    try:
        return "eztaskmanager" in get_resolver().namespace_dict
    except Exception:  # a broken URLconf is reported by Django's own URL checks
        return False


def _admin_package_importable() -> bool:
    return find_spec("eztaskmanager_admin") is not None


def _check_numbers(config: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for key in ("REPORTS_KEPT", "REPORT_LOG_TAIL_LINES", "REPORTS_INLINE", "HEARTBEAT_TIMEOUT"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            messages.append(
                Error(
                    f'EZTASKMANAGER["{key}"] must be a positive whole number, not {value!r}.',
                    hint=f"Set it to e.g. {conf.DEFAULTS[key]}.",
                    id="eztaskmanager.E006",
                )
            )
    return messages


def _check_retention(config: dict[str, Any]) -> list[CheckMessage]:
    """The artifacts' size limit and the retention ages: a number, or ``None`` for none."""
    messages: list[CheckMessage] = []
    rules = (
        ("ARTIFACTS_MAX_SIZE", "a positive whole number of bytes", _is_positive_int),
        ("REPORTS_MAX_AGE_DAYS", "a number of days, 0 or more", conf.is_age),
        ("DEBUG_LINES_MAX_AGE_DAYS", "a number of days, 0 or more", conf.is_age),
    )
    for key, what, valid in rules:
        value = config[key]
        if value is not None and not valid(value):
            messages.append(
                Error(
                    f'EZTASKMANAGER["{key}"] must be {what}, or None, not {value!r}.',
                    hint="None (the default for the ages) means no limit.",
                    id="eztaskmanager.E008",
                )
            )
    return messages


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_artifacts_storage(config: dict[str, Any]) -> list[CheckMessage]:
    alias = config["ARTIFACTS_STORAGE"]
    if alias in settings.STORAGES:
        return []
    return [
        Error(
            f'EZTASKMANAGER["ARTIFACTS_STORAGE"] names {alias!r}, which is not in '
            "settings.STORAGES.",
            hint=f"Add {alias!r} to STORAGES, or name one of: {', '.join(settings.STORAGES)}.",
            id="eztaskmanager.E009",
        )
    ]


def _check_log_to_console(config: dict[str, Any]) -> list[CheckMessage]:
    value = config["LOG_TO_CONSOLE"]
    if value is None or isinstance(value, bool):
        return []
    return [
        Error(
            f'EZTASKMANAGER["LOG_TO_CONSOLE"] must be None, True or False, not {value!r}.',
            hint="None (the default) prints a command's log to the console only when it runs "
            "from a shell; True always; False never.",
            id="eztaskmanager.E007",
        )
    ]


@register(Tags.database)
def check_saved_arguments(
    app_configs: Any = None, databases: list[str] | None = None, **kwargs: Any
) -> list:
    """One warning per saved task whose arguments do not parse (or whose command is gone)."""
    messages: list = []
    for alias in databases or []:
        if not _migrated(alias):
            continue  # migrate checks before it migrates: the tables may still be 0.5's
        messages += _check_task_arguments(alias)
    return messages


def _migrated(alias: str) -> bool:
    """Whether every migration of the core is applied on database ``alias``."""
    try:
        loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    except DatabaseError:
        return False
    nodes = {node for node in loader.graph.nodes if node[0] == "eztaskmanager"}
    return bool(nodes) and nodes <= set(loader.applied_migrations)


def _check_task_arguments(alias: str) -> list[CheckMessage]:
    from eztaskmanager.models import Task  # lazily: this module imports before Django is set up

    messages = []
    tasks = Task.objects.using(alias).select_related("command").order_by("pk")
    for task in tasks.iterator():
        command = task.command
        try:
            parse_arguments(
                load_command(command.app_name, command.name),
                command.name,
                split_arguments(task.arguments),
            )
        except InvalidArguments as exc:
            messages.append(
                Warning(
                    f"Task {task.name!r} (id {task.pk}) cannot run as saved: {exc} "
                    f"(arguments: {task.arguments!r}).",
                    hint="Edit the task's arguments in the admin. They are split at commas "
                    'and at spaces (django-eztaskmanager 0.5 kept "--title Hello world" as '
                    'one value): quote a value that holds spaces or commas, --title="Hello '
                    'world". A command that is gone: run collectcommands, pick another one.',
                    id="eztaskmanager.W003",
                )
            )
    return messages
