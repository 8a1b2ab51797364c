"""A task's chain on its page: what it starts after, what starts after it, and whether it
is outdated (its last OK run older than the last OK run of the task it follows)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from eztaskmanager.models import Task
from eztaskmanager.models.tasks import FOLLOWS_ON_OK
from eztaskmanager.services.chains import outdated
from eztaskmanager_admin.display import local_datetime
from eztaskmanager_admin.pages import page_url


def when_words(follows_on: str) -> str:
    return _("when it ends OK") if follows_on == FOLLOWS_ON_OK else _("whatever its result")


def chain_summary(task: Task, admin_site_name: str) -> SafeString | str:
    """The task's place in chains, in words with links; "-" when it is in none."""

    def link(other: Task) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>', page_url(admin_site_name, Task, "change", other.pk), other
        )

    parts: list[SafeString] = []
    if task.follows_id is not None:
        parts.append(
            format_html(
                "{} {} ({}).", _("Starts after"), link(task.follows), when_words(task.follows_on)
            )
        )
        behind = outdated(task)
        if behind is not None:
            mine = local_datetime(behind.last_ok) if behind.last_ok else _("it has none")
            parts.append(
                format_html(
                    '<strong class="eztm-outdated">{}</strong> {}',
                    _("Outdated:"),
                    _(
                        "its last OK run (%(mine)s) is older than the last OK run of "
                        "%(task)s (%(theirs)s)."
                    )
                    % {
                        "mine": mine,
                        "task": task.follows,
                        "theirs": local_datetime(behind.followed_ok),
                    },
                )
            )
    followers = list(task.followers.order_by("name"))
    if followers:
        items = format_html_join(
            ", ", "{} ({})", ((link(f), when_words(f.follows_on)) for f in followers)
        )
        parts.append(format_html("{} {}.", _("Started after it:"), items))
    if not parts:
        return "-"
    return format_html_join("", "<p>{}</p>", ((part,) for part in parts))
