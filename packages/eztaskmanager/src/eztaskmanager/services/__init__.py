"""Services: the runner, queue backends, logging and notifications (seed import paths)."""

from eztaskmanager.services.runner import run_management_command

__all__ = ["run_management_command"]
