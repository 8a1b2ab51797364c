"""``{% task_result_list cl %}``: Django's ``{% result_list cl %}``, with the rows the task
list writes itself (:meth:`~eztaskmanager_admin.task_list.TaskChangeList.result_rows`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import (
    result_headers,
    result_hidden_fields,
    result_list,
)
from django.contrib.admin.templatetags.base import InclusionAdminNode

register = template.Library()


def task_result_list(cl: Any) -> dict[str, Any]:
    """The context of ``change_list_results.html``, as Django's ``result_list`` makes it."""
    rows = cl.result_rows()
    if rows is None:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }


@register.tag(name="task_result_list")
def task_result_list_tag(parser: Any, token: Any) -> InclusionAdminNode:
    return InclusionAdminNode(
        parser,
        token,
        func=task_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
