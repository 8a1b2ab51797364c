"""Exceptions shared by the core and the backend and notifier packages.

Run-time errors share one base, :class:`EzTaskManagerError`. Configuration errors are
Django's ``ImproperlyConfigured``; each kind has a class of its own, from which the
system checks choose their id (see :mod:`eztaskmanager.checks`).
"""

from django.core.exceptions import ImproperlyConfigured


class EzTaskManagerError(Exception):
    """Base class of the run-time errors raised by django-eztaskmanager."""


class TaskQueueException(EzTaskManagerError):
    """A queue backend could not do what was asked (engine unreachable, bad request)."""


class TaskAlreadyRunning(TaskQueueException):
    """A task was started while one of its runs is still going on."""


class TaskNotRunnable(TaskQueueException):
    """A task cannot be started (inactive or missing command, unsupported schedule)."""


class TaskNotStoppable(TaskQueueException):
    """The backend cannot stop a run that has started (its engine has no way to)."""


class TaskNotAllowed(TaskNotRunnable):
    """A user may not start or stop a task (see :mod:`eztaskmanager.permissions`)."""


class NotificationError(EzTaskManagerError):
    """A notifier could not send its message; the runner logs it and carries on."""


class ConfigurationError(ImproperlyConfigured):
    """The ``EZTASKMANAGER`` setting names something that cannot be loaded or built."""


class InvalidName(ConfigurationError):
    """A ``BACKEND`` names nothing that loads: an unknown name, a package that is not
    installed, a dotted path that does not import."""


class InvalidOptions(ConfigurationError, ValueError):
    """A backend or notifier refuses its ``OPTIONS`` (or a notifier its ``LEVEL``)."""


class InvalidNotifiers(ConfigurationError):
    """``EZTASKMANAGER["NOTIFIERS"]`` is not a dict of named notifiers."""
