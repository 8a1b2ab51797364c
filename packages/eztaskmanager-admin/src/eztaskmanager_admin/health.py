"""Operators' view of health: which workers and schedulers are alive, and a warning when
scheduled tasks have no scheduler to start them.

Workers and schedulers record a heartbeat (:class:`~eztaskmanager.models.ProcessHeartbeat`)
while they run. A process counts as *alive* when it was seen within the bound of its
kind, a few times the interval it beats at, so that a busy machine raises no false
alarm. A scheduler beats on its ticks (every few seconds; rqscheduler's ``--interval``
at most 60 s). A worker beats less regularly: an idle RQ worker beats only when its
wait for a job on Redis ends (30 s with ``eztaskmanager_rq.worker.Worker``, up to
about 7 minutes with rq's own ``worker_ttl``), a Celery worker every 15 s from its main
process, which a busy machine may delay; so a worker's bound is longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from eztaskmanager.conf import get_setting
from eztaskmanager.models import ProcessHeartbeat, Task
from eztaskmanager_admin import display

# How recently a process must have been seen to count as alive, by kind.
ALIVE_WITHIN = {
    ProcessHeartbeat.KIND_SCHEDULER: timedelta(minutes=2),
    ProcessHeartbeat.KIND_WORKER: timedelta(minutes=5),
}
# The command that starts the scheduler, by backend name, for the warning's hint.
SCHEDULER_COMMANDS = {
    "rq": "python manage.py rqscheduler",
    "celery": "celery -A <project> beat",
}


def alive_within(kind: str) -> timedelta:
    """The bound of ``kind``: the worker's (the longer one) for a kind it does not know."""
    return ALIVE_WITHIN.get(kind, ALIVE_WITHIN[ProcessHeartbeat.KIND_WORKER])


def is_alive(process: ProcessHeartbeat, now: datetime | None = None) -> bool:
    """Whether ``process`` was seen within the bound of its kind."""
    return (now or timezone.now()) - process.seen_at <= alive_within(process.kind)


@dataclass(frozen=True)
class SchedulerWarning:
    """Scheduled tasks, and no scheduler alive to start them."""

    scheduled: int
    last_seen: datetime | None

    @property
    def text(self) -> str:
        if self.last_seen is None:
            seen = _("No scheduler has been seen yet")
        else:
            seen = _("No scheduler has been seen for %(age)s") % {"age": timesince(self.last_seen)}
        tasks = ngettext(
            "%(n)d scheduled task will not start",
            "%(n)d scheduled tasks will not start",
            self.scheduled,
        ) % {"n": self.scheduled}
        ask = _("Is the scheduler running (%(hint)s)?") % {"hint": scheduler_hint()}
        return f"{seen}: {tasks}. {ask}"


def scheduler_hint() -> str:
    """The command that runs the configured backend's scheduler, or a general word."""
    backend = str(get_setting("BACKEND")).lower()
    return SCHEDULER_COMMANDS.get(backend, _("rqscheduler, celery beat"))


def scheduler_warning(now: datetime | None = None) -> SchedulerWarning | None:
    """The warning to show, if any: one query when a scheduler is alive, two otherwise."""
    now = now or timezone.now()
    last_seen = (
        ProcessHeartbeat.objects.filter(kind=ProcessHeartbeat.KIND_SCHEDULER)
        .order_by("-seen_at")
        .values_list("seen_at", flat=True)
        .first()
    )
    if last_seen is not None and now - last_seen <= alive_within(ProcessHeartbeat.KIND_SCHEDULER):
        return None
    scheduled = Task.objects.filter(
        Q(status=Task.STATUS_SCHEDULED) | ~Q(scheduled_job_id="")
    ).count()
    return SchedulerWarning(scheduled, last_seen) if scheduled else None


def warning_context(request: HttpRequest, admin_site: admin.AdminSite) -> dict[str, Any]:
    """The task list's template context for the warning: its text, and a link to the
    schedulers for who may see them."""
    warning = scheduler_warning()
    if warning is None:
        return {}
    context: dict[str, Any] = {"eztm_scheduler_warning": warning.text}
    if admin_site.is_registered(ProcessHeartbeat) and admin_site.get_model_admin(
        ProcessHeartbeat
    ).has_view_permission(request):
        url = reverse(f"{admin_site.name}:eztaskmanager_processheartbeat_changelist")
        context["eztm_workers_url"] = f"{url}?kind__exact={ProcessHeartbeat.KIND_SCHEDULER}"
    return context


class ProcessHeartbeatAdmin(admin.ModelAdmin):
    """Workers and schedulers seen alive: read-only; rows of processes gone can be deleted."""

    change_list_template = "eztaskmanager_admin/processheartbeat/change_list.html"
    # Four columns of two lines, so that the list fits a laptop with the sidebar open.
    list_display = ("name_display", "kind_display", "last_seen", "alive")
    list_filter = ("backend", "kind")
    search_fields = ("name", "host")
    fields = ("backend", "kind", "name", "host", "pid", "started_at", "seen_at", "alive")
    readonly_fields = fields
    actions = ["delete_gone"]

    class Media:
        css = display.ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only the row of a process that is no longer alive goes: a live one would be back
        at its next heartbeat anyway, and deleting it would only hide it."""
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not is_alive(obj))

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        permissions=["delete"], description=gettext_lazy("Delete the selected processes not alive")
    )
    def delete_gone(self, request: HttpRequest, queryset: QuerySet) -> None:
        gone = [process.pk for process in queryset if not is_alive(process)]
        deleted, _details = ProcessHeartbeat.objects.filter(pk__in=gone).delete()
        kept = queryset.count() - deleted
        text = _("%(deleted)d deleted.") % {"deleted": deleted}
        if kept:
            text = f"{text} " + _("%(kept)d alive kept.") % {"kept": kept}
        self.message_user(request, text, messages.SUCCESS)

    @admin.display(description=gettext_lazy("name"), ordering="name")
    def name_display(self, obj: ProcessHeartbeat) -> SafeString:
        where = _("%(host)s, process %(pid)s") % {"host": obj.host, "pid": obj.pid}
        return format_html(
            '<span class="eztm-name eztm-process"><span class="eztm-line">{}</span>'
            '<span class="eztm-line eztm-quiet">{}</span></span>',
            obj.name,
            where,
        )

    @admin.display(description=gettext_lazy("kind"), ordering="kind")
    def kind_display(self, obj: ProcessHeartbeat) -> SafeString:
        return display.stack(obj.get_kind_display(), display.quiet(obj.backend))

    @admin.display(description=gettext_lazy("last seen"), ordering="seen_at")
    def last_seen(self, obj: ProcessHeartbeat) -> SafeString:
        seconds = int(obj.age.total_seconds())
        if seconds < 60:  # timesince() counts in minutes: "0 minutes" says nothing
            ago = _("%(seconds)d s ago") % {"seconds": max(seconds, 0)}
        else:
            ago = _("%(time)s ago") % {"time": timesince(obj.seen_at)}
        seen = format_html('<span title="{}">{}</span>', display.local_datetime(obj.seen_at), ago)
        since = format_html("{} {}", _("started"), display.when_html(obj.started_at))
        return display.stack(seen, display.quiet(since))

    @admin.display(description=gettext_lazy("alive"), boolean=True)
    def alive(self, obj: ProcessHeartbeat) -> bool:
        return is_alive(obj)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        minutes = {
            kind: int(alive_within(kind).total_seconds() // 60)
            for kind in (ProcessHeartbeat.KIND_SCHEDULER, ProcessHeartbeat.KIND_WORKER)
        }
        extra_context = {
            **(extra_context or {}),
            "scheduler_minutes": minutes[ProcessHeartbeat.KIND_SCHEDULER],
            "worker_minutes": minutes[ProcessHeartbeat.KIND_WORKER],
        }
        return super().changelist_view(request, extra_context)
