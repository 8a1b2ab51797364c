"""Turn a :class:`Notification` into a Slack message: coloured attachment blocks + text.

``text`` is the plain fallback Slack shows in push notifications and to clients that
cannot draw blocks; the blocks sit in an attachment so the result gets a colour bar.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from eztaskmanager.services.notifications import Notification, format_duration

# Slack's colour bar beside the message, by result.
RESULT_COLORS = {
    "failed": "#b3261e",
    "stopped": "#6b7280",
    "errors": "#e01e5a",
    "warnings": "#ecb22e",
    "ok": "#2eb67d",
}
RESULT_EMOJI = {
    "failed": ":x:",
    "stopped": ":black_square_for_stop:",
    "errors": ":red_circle:",
    "warnings": ":warning:",
    "ok": ":white_check_mark:",
}
# A section's text may hold at most 3,000 characters; keep room for the code fence.
MAX_SECTION_TEXT = 2900
# Arguments longer than this are cut in the message (the report keeps them whole).
MAX_ARGUMENTS_TEXT = 1000
ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_block(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """``text`` (already escaped) in a code block that nothing in it can close early.

    Slack's mrkdwn has no escape for a backtick: three in a row, anywhere, end the block.
    A zero-width space after each backtick that another one follows (and before or after
    one that would touch the fence) keeps the text looking the same and the block whole.
    The end of the text is kept when it is longer than ``limit``.
    """
    guarded = re.sub("`(?=`)", "`" + ZERO_WIDTH_SPACE, text)[-limit:]
    if guarded.startswith("`"):
        guarded = ZERO_WIDTH_SPACE + guarded
    if guarded.endswith("`"):
        guarded += ZERO_WIDTH_SPACE
    return f"```{guarded}```"


def fallback_text(notification: Notification) -> str:
    summary = _("errors: %(errors)s, warnings: %(warnings)s, duration: %(duration)s") % {
        "errors": notification.n_errors,
        "warnings": notification.n_warnings,
        "duration": format_duration(notification.duration),
    }
    return escape(f"{notification.subject}: {summary}")


def blocks(notification: Notification) -> list[dict[str, Any]]:
    result = notification.result
    title = f"{RESULT_EMOJI.get(result, '')} *{escape(notification.task_name)}*: {result.upper()}"
    fields = [
        (_("Result"), result.upper()),
        (_("Duration"), format_duration(notification.duration)),
        (_("Errors"), str(notification.n_errors)),
        (_("Warnings"), str(notification.n_warnings)),
    ]
    content: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title.strip()}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields],
        },
    ]
    if notification.command:
        ran = f"*{_('Command')}* `{escape(notification.command)}`"
        if notification.arguments:
            arguments = escape(notification.arguments)
            if len(arguments) > MAX_ARGUMENTS_TEXT:
                arguments = arguments[:MAX_ARGUMENTS_TEXT] + "…"
            ran += f"\n*{_('Arguments')}*\n{code_block(arguments)}"
        content.append({"type": "section", "text": {"type": "mrkdwn", "text": ran}})
    if notification.reason:
        content.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(notification.reason)}}
        )
    if notification.log_tail:
        tail = code_block(escape("\n".join(notification.log_tail)))
        content.append({"type": "section", "text": {"type": "mrkdwn", "text": tail}})
    if notification.url:
        content.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": _("Open the full log")},
                        "url": notification.url,
                    }
                ],
            }
        )
    return content


def build_message(notification: Notification) -> dict[str, Any]:
    """Keyword arguments for ``WebClient.chat_postMessage`` (without the channel)."""
    return {
        "text": fallback_text(notification),
        "attachments": [
            {
                "color": RESULT_COLORS.get(notification.result, "#4a5568"),
                "fallback": fallback_text(notification),
                "blocks": blocks(notification),
            }
        ],
    }
