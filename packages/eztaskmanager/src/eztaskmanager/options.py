"""Read the ``OPTIONS`` of a backend or notifier, checked against a table: one helper, one
message style.

A class describes what it accepts as a table of :class:`Option`, and its constructor
hands what it was given to :func:`read_options`, which returns every option (defaults
filled in) or raises :class:`~eztaskmanager.exceptions.InvalidOptions` naming the option
and what it must be::

    OPTIONS = {
        "queue": Option("a queue name", default="default", types=str, blank=False),
        "timeout": Option("a number of seconds, or -1 for none", types=int, minimum=1, also=(-1,)),
    }

    class MyBackend(TaskQueueService):
        def __init__(self, **options: Any) -> None:
            values = read_options("mine", OPTIONS, options)
            self.queue_name = values["queue"]

A wrong value reads ``mine: 'timeout' must be a number of seconds, or -1 for none, not
'10'.``, an unknown key ``mine: unknown option 'colour'; the options are queue, timeout.``;
the registry puts the setting in front (``EZTASKMANAGER["OPTIONS"]: ...``) and the system
check reports it as ``eztaskmanager.E002``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eztaskmanager.exceptions import InvalidOptions


@dataclass(frozen=True)
class Option:
    """What one option may be. ``expected`` says it in words, for the error message.

    A value passes when it is one of ``also`` (e.g. ``-1`` for "none"), or ``None`` when
    that is the default, or else when it is an instance of ``types`` (a ``bool`` only where
    ``bool`` is named: ``True`` is no number of seconds), within ``minimum`` and
    ``maximum``, not empty unless ``blank``, and ``valid(value)`` is true (an exception it
    raises counts as false).
    """

    expected: str
    default: Any = None
    types: type | tuple[type, ...] = object
    minimum: float | None = None
    maximum: float | None = None
    also: tuple[Any, ...] = ()
    blank: bool = True
    valid: Callable[[Any], object] | None = None

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is a valid value of this option."""
        if any(type(value) is type(other) and value == other for other in self.also):
            return True
        if value is None and self.default is None:
            return True
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        if not self.blank and not value:
            return False
        return self.valid is None or _passes(self.valid, value)


def _passes(test: Callable[[Any], object], value: Any) -> bool:
    try:
        return bool(test(value))
    except (AttributeError, LookupError, TypeError, ValueError):
        return False


def read_options(
    owner: str, table: Mapping[str, Option], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Check ``given`` against ``table``; return every option's value, defaults filled in.

    ``owner`` names the backend or notifier in the messages (``"rq"``). Raises
    :class:`~eztaskmanager.exceptions.InvalidOptions` for an unknown option or a value
    that its :class:`Option` refuses.
    """
    unknown = sorted(set(given) - set(table))
    if unknown and not table:
        raise InvalidOptions(f"{owner} takes no options; got {', '.join(unknown)}.")
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        word = "option" if len(unknown) == 1 else "options"
        raise InvalidOptions(
            f"{owner}: unknown {word} {names}; the options are {', '.join(table)}."
        )
    values = {}
    for name, option in table.items():
        value = given.get(name, option.default)
        if not option.accepts(value):
            raise InvalidOptions(f"{owner}: {name!r} must be {option.expected}, not {value!r}.")
        values[name] = value
    return values
