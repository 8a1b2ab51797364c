"""The task list's history bars, asked for once the page is shown.

A page of a hundred tasks draws a thousand bars from a thousand reports: about as much
work as the rest of the page. The list sends a placeholder in each row's history cell
(:func:`placeholder`), and ``history.js`` asks :func:`history_bars` for the bars of the
page's rows in one request once the page shows. The page's refreshes (``refresh.js``,
while runs go on) carry the bars in place, as the task's own page does.
"""

from __future__ import annotations

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from eztaskmanager_admin import display, history
from eztaskmanager_admin.api.errors import ApiError, bad_request
from eztaskmanager_admin.api.params import MAX_ID

# The most tasks one request may ask for (history.js asks in chunks of fewer).
MAX_TASKS = 500


def placeholder(task_id: int) -> SafeString:
    """Where a row's bars go once ``history.js`` has them: as wide as the bars."""
    return SafeString(
        f'<span class="eztm-sparkline-pending" data-eztm-history="{int(task_id)}" '
        'aria-busy="true"></span>'
    )


def parse_ids(text: str) -> list[int]:
    """The task ids of ``?ids=1,2,3``; a 400 (``ApiError``) says what is wrong with them."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise bad_request(_("Give the tasks' ids, as ids=1,2,3."))
    if len(parts) > MAX_TASKS:
        raise bad_request(_("Ask for at most %(n)d tasks at a time.") % {"n": MAX_TASKS})
    ids = []
    for part in parts:
        if not part.isdecimal() or not 0 < int(part) <= MAX_ID:
            raise bad_request(_("%(id)r is not a task's id.") % {"id": part[:30]})
        ids.append(int(part))
    return ids


@require_safe
def history_bars(request: HttpRequest, model_admin: ModelAdmin) -> JsonResponse:
    """GET ``?ids=1,2,3``: ``{"bars": {"1": "<svg ...>", ...}}``, the bars of the tasks
    among them that the user may see (an empty string for a task never run); bars link
    only to the reports the user may open."""
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    try:
        ids = parse_ids(request.GET.get("ids", ""))
    except ApiError as error:
        return error.response()
    shown = list(model_admin.get_queryset(request).filter(pk__in=ids).values_list("pk", flat=True))
    runs = history.recent_runs(shown)
    texts = display.Texts(model_admin.admin_site.name)
    texts.visible = history.visible_ids(request.user, (r for rs in runs.values() for r in rs))
    bars = {
        str(pk): str(history.sparkline(runs.get(pk, []), texts.admin_site_name, texts))
        for pk in shown
    }
    return JsonResponse({"bars": bars})
