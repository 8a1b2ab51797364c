"""Build the configured queue backend and notifiers, once, from ``settings.EZTASKMANAGER``.

Short names (``"rq"``, ``"slack"``) resolve through the entry point groups that each
package declares, so installing a package makes its name available; anything with a dot
is imported with ``import_string``. What is built is cached and dropped whenever a
setting changes (``override_settings`` in tests).
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from eztaskmanager.conf import get_config
from eztaskmanager.exceptions import ConfigurationError

if TYPE_CHECKING:
    from eztaskmanager.services.notifications import NotificationHandler
    from eztaskmanager.services.queues import TaskQueueService

BACKENDS_GROUP = "eztaskmanager.backends"
NOTIFIERS_GROUP = "eztaskmanager.notifiers"

# Names shipped by this project's own packages, and the pip extra that installs each.
KNOWN_EXTRAS = {"rq": "rq", "celery": "celery", "email": "email", "slack": "slack"}

_lock = threading.Lock()
_cache: dict[str, Any] = {}


def load_class(name: str, group: str, place: str) -> type:
    """Return the class registered as ``name`` in ``group``, or imported from a dotted path.

    ``place`` names the setting in error messages, e.g. ``EZTASKMANAGER["BACKEND"]``.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(
            f"{place}: expected a backend name or a dotted path, got {name!r}."
        )
    if "." not in name:
        matches = entry_points(group=group, name=name)
        if not matches:
            if name in KNOWN_EXTRAS:
                raise ConfigurationError(
                    f"{place}: '{name}' is not installed; "
                    f'pip install "django-eztaskmanager[{KNOWN_EXTRAS[name]}]"'
                )
            available = sorted(ep.name for ep in entry_points(group=group))
            raise ConfigurationError(
                f"{place}: unknown name '{name}'; installed: {', '.join(available) or 'none'}."
            )
        try:
            return next(iter(matches)).load()
        except ImportError as exc:
            raise ConfigurationError(f"{place}: '{name}' cannot be imported: {exc}") from exc
    try:
        return import_string(name)
    except ImportError as exc:
        raise ConfigurationError(f"{place}: cannot import '{name}': {exc}") from exc


def build_backend(config: dict[str, Any] | None = None) -> TaskQueueService:
    """Instantiate the backend described by the configuration (not cached)."""
    config = config or get_config()
    backend_class = load_class(config["BACKEND"], BACKENDS_GROUP, 'EZTASKMANAGER["BACKEND"]')
    options = config.get("OPTIONS") or {}
    try:
        return backend_class(**options)
    except (TypeError, ValueError, ImproperlyConfigured) as exc:
        raise ConfigurationError(f'EZTASKMANAGER["OPTIONS"]: {exc}') from exc


def build_notifier(alias: str, definition: dict[str, Any]) -> NotificationHandler:
    """Instantiate one entry of ``EZTASKMANAGER["NOTIFIERS"]`` (not cached)."""
    place = f'EZTASKMANAGER["NOTIFIERS"]["{alias}"]'
    if not isinstance(definition, dict):
        raise ConfigurationError(f"{place}: expected a dict with BACKEND, LEVEL and OPTIONS.")
    notifier_class = load_class(definition.get("BACKEND"), NOTIFIERS_GROUP, place)
    kwargs = dict(definition.get("OPTIONS") or {})
    if "LEVEL" in definition:
        kwargs["level"] = definition["LEVEL"]
    try:
        notifier = notifier_class(**kwargs)
    except (TypeError, ValueError, ImproperlyConfigured) as exc:
        raise ConfigurationError(f"{place}: {exc}") from exc
    notifier.alias = alias
    return notifier


def get_backend() -> TaskQueueService:
    """Return the configured queue backend, built on first use."""
    with _lock:
        if "backend" not in _cache:
            _cache["backend"] = build_backend()
        return _cache["backend"]


def get_notifiers() -> list[NotificationHandler]:
    """Return the configured notifiers, built on first use."""
    with _lock:
        if "notifiers" not in _cache:
            notifiers = get_config()["NOTIFIERS"] or {}
            _cache["notifiers"] = [build_notifier(a, d) for a, d in notifiers.items()]
        return _cache["notifiers"]


def reset() -> None:
    """Forget what was built, so that the next call reads the settings again."""
    with _lock:
        _cache.clear()


@receiver(setting_changed)
def _reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "EZTASKMANAGER" or setting.startswith("EZTASKMANAGER_"):
        reset()
