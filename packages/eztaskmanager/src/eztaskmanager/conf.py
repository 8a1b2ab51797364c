"""Read the ``EZTASKMANAGER`` setting, filling defaults and the seed's flat settings.

Settings are read on every call (never at import time) so that ``override_settings``
works; the registry caches what it builds from them and resets on ``setting_changed``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "BACKEND": "immediate",
    "OPTIONS": {},
    "NOTIFIERS": {},
    "REPORTS_KEPT": 5,
    "REPORT_LOG_TAIL_LINES": 10,
    "REPORTS_INLINE": 5,
    "SHOW_LOGVIEWER_LINK": True,
    "USE_FILTER_COLLAPSE": True,
    "BASE_URL": None,
    # Seconds without a heartbeat after which a run's worker is declared lost.
    "HEARTBEAT_TIMEOUT": 60,
    # Whether a LoggerEnabledCommand also prints its records to the console: None, only
    # when the task manager does not store them (a command run from a shell); True, False.
    "LOG_TO_CONSOLE": None,
    # The alias in settings.STORAGES that keeps the files runs attach (artifacts).
    "ARTIFACTS_STORAGE": "default",
    # The largest file a run may attach, in bytes (None: no limit).
    "ARTIFACTS_MAX_SIZE": 100 * 1024 * 1024,
    # Days after which eztaskmanager_prune deletes a finished report (None: never), and
    # after which it drops a finished report's DEBUG lines (None: never).
    "REPORTS_MAX_AGE_DAYS": None,
    "DEBUG_LINES_MAX_AGE_DAYS": None,
}

# The seed's flat settings and the key of the dict each one maps onto.
FLAT_SETTINGS: dict[str, str] = {
    "EZTASKMANAGER_QUEUE_SERVICE_TYPE": "BACKEND",
    "EZTASKMANAGER_NOTIFICATION_HANDLERS": "NOTIFIERS",
    "EZTASKMANAGER_N_LINES_IN_REPORT_LOG": "REPORT_LOG_TAIL_LINES",
    "EZTASKMANAGER_N_REPORTS_INLINE": "REPORTS_INLINE",
    "EZTASKMANAGER_SHOW_LOGVIEWER_LINK": "SHOW_LOGVIEWER_LINK",
    "EZTASKMANAGER_USE_FILTER_COLLAPSE": "USE_FILTER_COLLAPSE",
    "EZTASKMANAGER_BASE_URL": "BASE_URL",
}


# The backend of a project configured with the seed's flat settings that names none: the
# seed documents "RQ" as the default of EZTASKMANAGER_QUEUE_SERVICE_TYPE, and 0.5 ran on it.
SEED_DEFAULT_BACKEND = "rq"


def flat_settings_to_dict() -> dict[str, Any]:
    """Translate the seed's ``EZTASKMANAGER_*`` settings into ``EZTASKMANAGER`` keys."""
    config: dict[str, Any] = {}
    for flat_name, key in FLAT_SETTINGS.items():
        if hasattr(settings, flat_name):
            config[key] = getattr(settings, flat_name)
    if "BACKEND" in config:
        # The seed spelled backends in any case ("RQ", "Celery").
        config["BACKEND"] = str(config["BACKEND"]).lower()
    if "NOTIFIERS" in config:
        config["NOTIFIERS"] = {
            alias: _flat_notifier(definition) for alias, definition in config["NOTIFIERS"].items()
        }
    return config


def _flat_notifier(definition: dict[str, Any]) -> dict[str, Any]:
    """Map ``{"class": ..., "level": ..., **options}`` onto ``{"BACKEND", "LEVEL", "OPTIONS"}``."""
    options = dict(definition)
    notifier: dict[str, Any] = {"BACKEND": options.pop("class", None)}
    if "level" in options:
        notifier["LEVEL"] = options.pop("level")
    notifier["OPTIONS"] = options
    return notifier


def get_config() -> dict[str, Any]:
    """Return the effective configuration: defaults, then flat settings, then the dict.

    A project that uses the seed's flat settings gets the seed's default backend, RQ,
    unless it chooses one (see :func:`backend_choice`).
    """
    config = dict(DEFAULTS)
    flat = flat_settings_to_dict()
    if flat:
        config["BACKEND"] = SEED_DEFAULT_BACKEND
    config.update(flat)
    config.update(getattr(settings, "EZTASKMANAGER", None) or {})
    return config


def is_age(value: object) -> bool:
    """Whether ``value`` is a retention age (``*_MAX_AGE_DAYS``): a number of days, 0 or
    more, and finite."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and 0 <= value < float("inf")  # type: ignore[operator]


def get_setting(key: str) -> Any:
    """Return one key of the effective configuration."""
    return get_config()[key]


def backend_choice() -> str:
    """How the backend was chosen: ``"configured"`` (a setting names it), ``"seed"`` (the
    flat settings are in use and name none: RQ, as in 0.5) or ``"default"`` (nothing at
    all: ``immediate``)."""
    if is_backend_configured():
        return "configured"
    return "seed" if flat_settings_to_dict() else "default"


def is_backend_configured() -> bool:
    """Tell whether the project chose a backend rather than falling back on a default."""
    return "BACKEND" in (getattr(settings, "EZTASKMANAGER", None) or {}) or hasattr(
        settings, "EZTASKMANAGER_QUEUE_SERVICE_TYPE"
    )
