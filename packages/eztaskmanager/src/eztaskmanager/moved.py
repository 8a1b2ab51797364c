"""Class paths the seed documented, whose classes now live in plug-in packages.

``eztaskmanager.services.queues.RQTaskQueueService`` or
``eztaskmanager.services.notifications.SlackNotificationHandler`` still import: a module's
``__getattr__`` loads the class from its package on first use, or says which extra to
install.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# name in the seed -> (module now, class now, pip extra)
Moves = dict[str, tuple[str, str, str]]


def moved_classes(module_name: str, moves: Moves, kind: str) -> Callable[[str], type]:
    """Build the ``__getattr__`` of ``module_name`` that serves the ``moves`` of one ``kind``."""

    def __getattr__(name: str) -> type:
        if name not in moves:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        target, class_name, extra = moves[name]
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ImportError(
                f'{name} needs the {extra} {kind}: pip install "django-eztaskmanager[{extra}]"'
            ) from exc
        return getattr(module, class_name)

    return __getattr__
