"""The configured queue backend and notifiers, built from ``settings.EZTASKMANAGER`` the
way Django builds its databases, caches and task backends.

A handler is shaped like Django's ``BaseConnectionHandler`` (``django/utils/connection.py``;
``django.tasks.task_backends`` is the closest model): it reads its part of the settings
on first use, never at import time; builds one instance per alias when it is first
asked for, giving the alias to the constructor; and, when a setting changes
(``override_settings`` in tests), closes what it built and forgets it. :data:`backends`
has one alias, ``"default"``, made of the ``BACKEND`` and ``OPTIONS`` keys;
:data:`notifiers` has one per entry of ``NOTIFIERS``, each built on its own, so that a
broken one silences no other.

Short names (``"rq"``, ``"slack"``) resolve through the entry point groups that each
package declares; anything with a dot is imported with ``import_string``. An error names
the setting and the fix, its class says what went wrong (see
:mod:`eztaskmanager.exceptions`), and the system checks report it.

Unlike Django's database handler, what is built is shared by the threads of a process:
backends and notifiers hold thread-safe clients (a Redis connection pool, a Celery app).
The registry knows nothing of what it builds but ``check()`` and ``close()``, so that
models and services alike may ask it for the configured backend.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterator, Mapping
from functools import cached_property
from importlib.metadata import entry_points
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from eztaskmanager.conf import get_config
from eztaskmanager.exceptions import (
    ConfigurationError,
    InvalidName,
    InvalidNotifiers,
    InvalidOptions,
)

logger = logging.getLogger(__name__)

BACKENDS_GROUP = "eztaskmanager.backends"
NOTIFIERS_GROUP = "eztaskmanager.notifiers"
# The alias of the one queue backend.
DEFAULT_ALIAS = "default"

# Names shipped by this project's own packages, and the pip extra that installs each.
KNOWN_EXTRAS = {"rq": "rq", "celery": "celery", "email": "email", "slack": "slack"}


def load_class(name: str, group: str, place: str) -> type:
    """Return the class registered as ``name`` in ``group``, or imported from a dotted path.

    ``place`` names the setting in error messages, e.g. ``EZTASKMANAGER["BACKEND"]``.
    Raises :class:`~eztaskmanager.exceptions.InvalidName`.
    """
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{place}: expected a backend name or a dotted path, got {name!r}.")
    if "." in name:
        try:
            return import_string(name)
        except ImportError as exc:
            raise InvalidName(f"{place}: cannot import '{name}': {exc}") from exc
    matches = entry_points(group=group, name=name)
    if not matches:
        if name in KNOWN_EXTRAS:
            raise InvalidName(
                f"{place}: '{name}' is not installed; "
                f'pip install "django-eztaskmanager[{KNOWN_EXTRAS[name]}]"'
            )
        available = sorted(ep.name for ep in entry_points(group=group))
        raise InvalidName(
            f"{place}: unknown name '{name}'; installed: {', '.join(available) or 'none'}."
        )
    try:
        return next(iter(matches)).load()
    except ImportError as exc:
        raise InvalidName(f"{place}: '{name}' cannot be imported: {exc}") from exc


def _construct(cls: type, options: Any, place: str, **extra: Any) -> Any:
    """``cls(**options, **extra)``, its refusals turned into ``InvalidOptions`` naming ``place``."""
    if not isinstance(options, Mapping):
        raise InvalidOptions(f"{place}: expected a dict of options, got {options!r}.")
    try:
        return cls(**options, **extra)
    except (TypeError, ValueError, ImproperlyConfigured) as exc:
        raise InvalidOptions(f"{place}: {exc}") from exc


def _takes_keyword(cls: type, name: str) -> bool:
    """Whether ``cls(...)`` takes the keyword argument ``name`` by that name."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # a class without a signature Python can read
        return False
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


class Handler:
    """What the settings name, built once per alias (see the module's docstring).

    ``config``, when given, is the configuration to build from instead of the project's
    (``build_backend()``); subclasses say how to read their part of it
    (:meth:`configure_settings`), where it stands in the settings (:meth:`place`) and how
    to build one alias (:meth:`create_connection`).
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self._config = config
        self._built: dict[str, Any] = {}
        self._lock = threading.RLock()

    @cached_property
    def settings(self) -> dict[str, Any]:
        """The definition of each alias, read from the configuration on first use."""
        return self.configure_settings(get_config() if self._config is None else self._config)

    def configure_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def place(self, alias: str) -> str:
        raise NotImplementedError

    def create_connection(self, alias: str) -> Any:
        """Build ``alias`` anew, or raise a :class:`ConfigurationError` saying why it cannot be."""
        raise NotImplementedError

    def __getitem__(self, alias: str) -> Any:
        with self._lock:
            if alias in self._built:
                return self._built[alias]
            if alias not in self.settings:
                raise ConfigurationError(f"{self.place(alias)} is not configured.")
            built = self._built[alias] = self.create_connection(alias)
            return built

    def __iter__(self) -> Iterator[str]:
        return iter(self.settings)

    def all(self, initialized_only: bool = False) -> list[Any]:
        """Every configured instance (or only those built so far), as Django's handlers do."""
        with self._lock:
            return [self[alias] for alias in self if not initialized_only or alias in self._built]

    def build_each(self) -> tuple[list[Any], list[ConfigurationError]]:
        """Build every alias on its own: what could be built, and why each other could not."""
        built: list[Any] = []
        errors: list[ConfigurationError] = []
        try:
            aliases = list(self)
        except ConfigurationError as exc:
            return built, [exc]
        for alias in aliases:
            try:
                built.append(self[alias])
            except ConfigurationError as exc:
                errors.append(exc)
        return built, errors

    def close_all(self) -> None:
        """Close what was built (a backend's connections, say); an error is only logged."""
        with self._lock:
            for alias, built in self._built.items():
                close = getattr(built, "close", None)
                if not callable(close):
                    continue  # written before close() was part of the base classes
                try:
                    close()
                except Exception:
                    logger.warning("Could not close %s", self.place(alias), exc_info=True)

    def reset(self) -> None:
        """Close and forget what was built, and read the settings again on next use."""
        with self._lock:
            self.close_all()
            self._built.clear()
            self.__dict__.pop("settings", None)


class BackendHandler(Handler):
    """The queue backend: one alias, ``"default"``, from the ``BACKEND`` and ``OPTIONS`` keys."""

    def configure_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            DEFAULT_ALIAS: {
                "BACKEND": config.get("BACKEND"),
                "OPTIONS": config.get("OPTIONS") or {},
            }
        }

    def place(self, alias: str) -> str:
        return 'EZTASKMANAGER["BACKEND"]'

    def create_connection(self, alias: str) -> Any:
        definition = self.settings[alias]
        backend_class = load_class(definition["BACKEND"], BACKENDS_GROUP, self.place(alias))
        return _construct(backend_class, definition["OPTIONS"], 'EZTASKMANAGER["OPTIONS"]')


class NotifierHandler(Handler):
    """The notifiers: one alias per entry of ``NOTIFIERS``, each given its alias when built."""

    def configure_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        notifiers = config.get("NOTIFIERS") or {}
        if not isinstance(notifiers, Mapping):
            raise InvalidNotifiers('EZTASKMANAGER["NOTIFIERS"] must be a dict of named notifiers.')
        return dict(notifiers)

    def place(self, alias: str) -> str:
        return f'EZTASKMANAGER["NOTIFIERS"]["{alias}"]'

    def create_connection(self, alias: str) -> Any:
        place = self.place(alias)
        definition = self.settings[alias]
        if not isinstance(definition, Mapping):
            raise InvalidOptions(f"{place}: expected a dict with BACKEND, LEVEL and OPTIONS.")
        notifier_class = load_class(definition.get("BACKEND"), NOTIFIERS_GROUP, place)
        extra = {"level": definition["LEVEL"]} if "LEVEL" in definition else {}
        takes_alias = _takes_keyword(notifier_class, "alias")
        if takes_alias:
            extra["alias"] = alias
        notifier = _construct(notifier_class, definition.get("OPTIONS") or {}, place, **extra)
        if not takes_alias:  # a notifier written before the alias was given to the constructor
            notifier.alias = alias
        return notifier

    def usable(self) -> list[Any]:
        """Every notifier that can be built; each one that cannot is logged and left out."""
        built, errors = self.build_each()
        for error in errors:
            logger.error("A notifier cannot be built, so it sends nothing: %s", error)
        return built


backends = BackendHandler()
notifiers = NotifierHandler()


def get_backend() -> Any:
    """The configured queue backend (a ``TaskQueueService``), built on first use."""
    return backends[DEFAULT_ALIAS]


def get_notifiers() -> list[Any]:
    """The configured notifiers that can be built (the others are logged), built on first use."""
    return notifiers.usable()


def build_backend(config: Mapping[str, Any] | None = None) -> Any:
    """A new backend from ``config`` (default: the project's configuration), not cached."""
    return BackendHandler(config).create_connection(DEFAULT_ALIAS)


def build_notifier(alias: str, definition: Any) -> Any:
    """A new notifier from one entry of ``EZTASKMANAGER["NOTIFIERS"]``, not cached."""
    return NotifierHandler({"NOTIFIERS": {alias: definition}}).create_connection(alias)


def reset() -> None:
    """Close and forget what was built, so that the next use reads the settings again."""
    backends.reset()
    notifiers.reset()


@receiver(setting_changed)
def _reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "EZTASKMANAGER" or setting.startswith("EZTASKMANAGER_"):
        reset()
