"""System checks: a wrong backend or notifier is reported at start-up, with the fix."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, Warning, register

from eztaskmanager import conf
from eztaskmanager.exceptions import ConfigurationError
from eztaskmanager.registry import build_backend, build_notifier


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    config = conf.get_config()
    messages: list = []
    messages += _check_numbers(config)
    messages += _check_backend(config)
    messages += _check_notifiers(config)
    return messages


def _check_numbers(config: dict[str, Any]) -> list:
    messages = []
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


def _check_backend(config: dict[str, Any]) -> list:
    try:
        backend = build_backend(config)
    except ConfigurationError as exc:
        options_error = str(exc).startswith('EZTASKMANAGER["OPTIONS"]')
        return [
            Error(
                str(exc),
                hint=(
                    "Check the options your backend accepts in its documentation."
                    if options_error
                    else "Install the backend's package, or fix the name or dotted path."
                ),
                id="eztaskmanager.E002" if options_error else "eztaskmanager.E001",
            )
        ]
    messages = list(backend.check())
    if not conf.is_backend_configured():
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


def _check_notifiers(config: dict[str, Any]) -> list:
    notifiers = config["NOTIFIERS"] or {}
    if not isinstance(notifiers, dict):
        return [
            Error(
                'EZTASKMANAGER["NOTIFIERS"] must be a dict of named notifiers.',
                hint='e.g. {"ops": {"BACKEND": "email", "LEVEL": "failed", "OPTIONS": {...}}}',
                id="eztaskmanager.E003",
            )
        ]
    messages = []
    for alias, definition in notifiers.items():
        try:
            notifier = build_notifier(alias, definition)
        except ConfigurationError as exc:
            messages.append(
                Error(
                    str(exc),
                    hint="Install the notifier's package, or fix its BACKEND, LEVEL or OPTIONS.",
                    id="eztaskmanager.E004",
                )
            )
            continue
        messages += notifier.check()
    return messages
