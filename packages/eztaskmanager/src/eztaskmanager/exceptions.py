"""Exceptions shared by the core and the backend and notifier packages."""

from django.core.exceptions import ImproperlyConfigured


class EzTaskManagerError(Exception):
    """Base class of the run-time errors raised by django-eztaskmanager."""


class TaskQueueException(EzTaskManagerError):
    """A queue backend could not do what was asked (engine unreachable, bad request)."""


class TaskAlreadyRunning(TaskQueueException):
    """A task was started while one of its runs is still going on."""


class TaskNotRunnable(TaskQueueException):
    """A task cannot be started (inactive or missing command, unsupported schedule)."""


class NotificationError(EzTaskManagerError):
    """A notifier could not send its message; the runner logs it and carries on."""


class ConfigurationError(ImproperlyConfigured):
    """The ``EZTASKMANAGER`` setting names something that cannot be loaded or built."""
