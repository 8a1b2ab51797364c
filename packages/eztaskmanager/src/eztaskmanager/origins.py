"""Who or what acts on a task: a user in the admin or through the API, a schedule, a chain,
a retry, or the project's own code.

A report keeps the origin of its run (``LaunchReport.origin`` and ``started_by``) and the
audit trail the origin of each action (:mod:`eztaskmanager.audit`); the permission rule
(:mod:`eztaskmanager.permissions`) is applied to the origin's user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

ADMIN = "admin"
API = "api"
SCHEDULE = "schedule"
CHAIN = "chain"
RETRY = "retry"
CODE = "code"
CHOICES = (
    (ADMIN, _("the admin")),
    (API, _("the API")),
    (SCHEDULE, _("the schedule")),
    (CHAIN, _("a chain")),
    (RETRY, _("a retry")),
    (CODE, _("code")),
)
LABELS = dict(CHOICES)


@dataclass(frozen=True)
class Origin:
    """Who acts (``user``, ``None`` for none) and through what (``source``, one of CHOICES);
    ``name`` names code that acts with no user (``stop(report, by="cleanup script")``)."""

    source: str = CODE
    user: Any = None
    name: str = ""

    @classmethod
    def of_request(cls, request: Any, source: str = ADMIN) -> Origin:
        """The request's user acting through ``source``."""
        user = getattr(request, "user", None)
        return cls(source, user if user is not None and user.is_authenticated else None)

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    def __str__(self) -> str:
        """The user's name, or what acted when no user did."""
        if self.user is not None:
            return self.user.get_username()
        if self.name:
            return self.name
        return str(LABELS.get(self.source, self.source))


def as_origin(by: Origin | str | None) -> Origin:
    """An :class:`Origin` from what callers pass as ``by``: an origin, or (as before there
    were origins) a name, which counts as code."""
    if isinstance(by, Origin):
        return by
    return Origin(CODE, None, by or "")
