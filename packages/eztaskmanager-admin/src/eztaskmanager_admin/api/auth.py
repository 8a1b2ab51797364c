"""Who calls the API: a personal token (``Authorization: Bearer <key>``) or the admin's
session, and what they may do.

The rules are the admin's: the caller must be an active staff member, and needs the model
permissions the admin would ask for (viewing tasks, viewing reports) on top of the rules of
:mod:`eztaskmanager.permissions` (who may run a task, whose reports one sees). A request
with a token is not open to cross-site request forgery (a browser never adds the header by
itself), so it needs no CSRF token; a session's unsafe request does, as in the admin.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _

from eztaskmanager.models import ApiToken
from eztaskmanager_admin.api.errors import ApiError, not_allowed

TOKEN = "token"
SESSION = "session"
BEARER = "bearer"
# What a 401 names, so that clients know how to authenticate.
CHALLENGE = 'Bearer realm="eztaskmanager"'
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

VIEW_TASKS = ("eztaskmanager.view_task", "eztaskmanager.change_task")
VIEW_REPORTS = ("eztaskmanager.view_launchreport", "eztaskmanager.change_launchreport")


def unauthenticated(message: Any) -> ApiError:
    error = ApiError(401, message)
    error.headers["WWW-Authenticate"] = CHALLENGE
    return error


def bearer_key(request: HttpRequest) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; ``None`` without one.

    Another scheme (``Basic``, from a proxy in front of the site) is left to the session.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, key = header.strip().partition(" ")
    if scheme.lower() != BEARER:
        return None
    return key.strip()


def authenticate(request: HttpRequest) -> str:
    """Set ``request.user`` to the caller, an active staff member; return how they came.

    Raises a 401 :class:`ApiError` for no credentials or a key that matches no active
    token, a 403 for a user who is not active staff or a session request without its CSRF
    token.
    """
    key = bearer_key(request)
    if key is not None:
        token = ApiToken.objects.authenticate(key) if key else None
        if token is None:
            raise unauthenticated(_("The API token is not valid."))
        request.user = token.user
        via = TOKEN
    else:
        # Without Django's auth middleware there is no session user: only tokens work.
        if not getattr(request, "user", None) or not request.user.is_authenticated:
            raise unauthenticated(
                _("Authentication required: send Authorization: Bearer <token>, or log in.")
            )
        via = SESSION
    user = request.user
    if not (user.is_active and user.is_staff):
        raise not_allowed(_("Only active staff members may use the API."))
    if via == SESSION and request.method not in SAFE_METHODS:
        check_csrf(request)
    return via


class _CsrfCheck(CsrfViewMiddleware):
    """Django's own CSRF check, answering with the reason instead of a page."""

    def _reject(self, request: HttpRequest, reason: str) -> str:  # type: ignore[override]
        return reason


def check_csrf(request: HttpRequest) -> None:
    """Refuse a session's unsafe request without a valid CSRF token, as the admin does.

    The API's views are exempt from the middleware (token requests need no CSRF token), so
    the check runs here for session requests only.
    """
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    reason = check.process_view(request, lambda request: None, (), {})
    if reason:
        raise not_allowed(_("CSRF check failed: %(reason)s") % {"reason": reason})


def has_any_perm(user: Any, perms: tuple[str, ...]) -> bool:
    return any(user.has_perm(perm) for perm in perms)


def require_view_tasks(user: Any) -> None:
    """The admin's rule for the task list: the view (or change) permission on tasks."""
    if not has_any_perm(user, VIEW_TASKS):
        raise not_allowed(_("You may not view tasks."))


def require_view_reports(user: Any) -> None:
    """The log viewer's rule: the view (or change) permission on launch reports."""
    if not has_any_perm(user, VIEW_REPORTS):
        raise not_allowed(_("You may not view reports."))
