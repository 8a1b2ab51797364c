"""Services: the runner, queue backends, logging and notifications (seed import paths).

``run_management_command`` is loaded on first use: the runner needs the models, and this
package is imported by modules that must import before Django is set up (a notifier
package listed in ``INSTALLED_APPS``, a tool reading ``__version__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eztaskmanager.services.runner import run_management_command

__all__ = ["run_management_command"]


def __getattr__(name: str) -> Any:
    if name == "run_management_command":
        from eztaskmanager.services.runner import run_management_command

        return run_management_command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
