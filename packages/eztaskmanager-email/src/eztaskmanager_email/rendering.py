"""Render the HTML alternative of a notification email.

A project may override ``eztaskmanager_email/notification.html`` in its own templates;
otherwise the package's template is rendered by a private engine, so the notifier works
without being in ``INSTALLED_APPS`` and whatever ``TEMPLATES`` says.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist
from django.template.loader import get_template

from eztaskmanager.services.notifications import Notification, format_duration

TEMPLATE_NAME = "eztaskmanager_email/notification.html"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# The colour of the result badge, by result.
RESULT_COLORS = {
    "failed": "#b3261e",
    "stopped": "#4b5563",
    "errors": "#d9480f",
    "warnings": "#b7791f",
    "ok": "#2f855a",
}


@cache
def _package_engine() -> Engine:
    return Engine(
        dirs=[str(TEMPLATES_DIR)],
        autoescape=True,
        libraries={"i18n": "django.templatetags.i18n"},
    )


def html_context(notification: Notification) -> dict[str, Any]:
    return {
        "notification": notification,
        "result_label": notification.result.upper(),
        "result_color": RESULT_COLORS.get(notification.result, "#4a5568"),
        "duration": format_duration(notification.duration),
    }


def render_html(notification: Notification) -> str:
    """The HTML body; every value from the run (task name, log lines) is escaped."""
    context = html_context(notification)
    try:
        return get_template(TEMPLATE_NAME).render(context)
    except TemplateDoesNotExist:
        template = _package_engine().get_template(TEMPLATE_NAME)
        return template.render(Context(context, autoescape=True))
