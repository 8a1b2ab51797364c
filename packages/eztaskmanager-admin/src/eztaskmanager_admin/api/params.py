"""Reading a request's parameters and body, and keyset pages of a query, for the API's views.

Bad input is a 400 with a message that names the parameter, never a server error.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from eztaskmanager_admin.api.errors import bad_request

# Lists: how many items a page holds when the client does not say, and at most.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The largest id a database stores (a 64-bit integer): a larger one is an error of the
# client's, not a query the database refuses with a server error.
MAX_ID = 2**63 - 1


def int_param(
    request: HttpRequest,
    name: str,
    default: int | None = None,
    minimum: int = 0,
    maximum: int | None = None,
) -> int | None:
    """The whole number ``?name=`` (``default`` when absent), at least ``minimum``; a value
    above ``maximum`` counts as ``maximum``."""
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(
            _("%(name)s must be a whole number, not %(value)r.") % {"name": name, "value": raw}
        ) from None
    if value > MAX_ID:
        raise bad_request(_("%(name)s is too large.") % {"name": name})
    if value < minimum:
        raise bad_request(
            _("%(name)s must be at least %(minimum)s.") % {"name": name, "minimum": minimum}
        )
    return value if maximum is None else min(value, maximum)


def clean_text(value: str, name: str) -> str:
    """``value`` if a database can store it: no NUL character, no lone surrogate (PostgreSQL
    refuses both, and the admin's forms do too)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(_("%(name)s is not valid text.") % {"name": name}) from None
    if "\x00" in value:
        raise bad_request(_("%(name)s may not contain NUL characters.") % {"name": name})
    return value


def text_param(request: HttpRequest, name: str) -> str:
    """``?name=`` as text that can be looked up; ``""`` when absent."""
    return clean_text(request.GET.get(name, ""), name)


def choice_param(request: HttpRequest, name: str, choices: Any) -> str | None:
    """``?name=`` when it is one of the values of ``choices`` (Django's pairs); ``None`` when absent."""
    raw = request.GET.get(name, "")
    if raw == "":
        return None
    values = [str(value) for value, _label in choices if value != ""]
    if raw not in values:
        raise bad_request(
            _("%(name)s must be one of %(values)s, not %(value)r.")
            % {"name": name, "values": ", ".join(values), "value": raw}
        )
    return raw


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's body as a JSON object; an empty body is ``{}``."""
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, ValueError):
        raise bad_request(_("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise bad_request(_("The request body must be a JSON object."))
    return body


def keyset_page(
    request: HttpRequest, queryset: QuerySet, newest_first: bool = False
) -> tuple[list[Model], str | None]:
    """A page of ``queryset`` by primary key, and the URL of the next page (``None`` at the end).

    Ascending pages go on with ``?after=<last id>``, newest-first ones with
    ``?before=<last id>``: each page costs the same however far the client has gone,
    and rows added meanwhile neither repeat nor shift the pages.
    """
    limit = int_param(request, "limit", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    cursor_name = "before" if newest_first else "after"
    cursor = int_param(request, cursor_name)
    if cursor is not None:
        queryset = queryset.filter(**{"pk__lt" if newest_first else "pk__gt": cursor})
    rows = list(queryset.order_by("-pk" if newest_first else "pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    query = {key: value for key, value in request.GET.items() if key != cursor_name}
    query[cursor_name] = rows[-1].pk
    return rows, request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
