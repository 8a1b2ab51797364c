"""The task list: its columns (two lines each, so that it fits a laptop with the sidebar
open), filters, bulk actions and Start/Stop buttons, and the runs of its rows read at once."""

from __future__ import annotations

from html import escape
from typing import Any

from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import ResultList
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.permissions import sees_all_reports
from eztaskmanager_admin import display, health, history, list_history, taskactions
from eztaskmanager_admin.access import can_run_tasks, may_run_command_id
from eztaskmanager_admin.filters import (
    CategoryFilter,
    ResultFilter,
    StatusFilter,
    UsedRelatedFilter,
)
from eztaskmanager_admin.pages import page_url

# The columns whose cells the list writes itself (TaskChangeList.result_rows).
OWN_COLUMNS = frozenset(
    (
        "action_checkbox",
        "name_display",
        "status_display",
        "last_result_display",
        "history_display",
        "run_buttons",
    )
)


def can_start(task: Task) -> bool:
    """Start does something: no run is queued or going on (on a scheduled task it books
    the schedule again from the task's fields)."""
    return task.status in (Task.STATUS_IDLE, Task.STATUS_SCHEDULED)


def can_stop(task: Task) -> bool:
    """Stop does something: a run is queued or going on, or a schedule is booked."""
    return task.status != Task.STATUS_IDLE


class Blank:
    """A row whose name and pk are placeholders, for markup rendered once a page."""

    NAME = "eztm-blank-name-7f3a"
    PK = "eztm-blank-pk-7f3a"
    pk = PK

    def __str__(self) -> str:
        return self.NAME


class TaskChangeList(ChangeList):
    """The task list, with the runs of the page's tasks read in one query.

    Its history bars come after the page (:mod:`~eztaskmanager_admin.list_history`), except
    in the page's refreshes: the page reads only the runs going on, for the status column.
    """

    # Where history.js asks for the bars (None: they are in the page).
    eztm_history_url: str | None = None

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # Why the last run ended (the last result's tooltip), as a subquery rather than a join:
        # PostgreSQL works a subquery out for the page's rows alone, after the sort, where it
        # would join every task to the reports table before it.
        last = LaunchReport.objects.filter(pk=OuterRef("cached_last_report_id"))
        queryset = super().get_queryset(request, exclude_parameters)
        # The page's commands and categories, read for its rows alone: joined, PostgreSQL
        # joins every task before it sorts them (three times the plain list's read).
        queryset = queryset.prefetch_related("command", "category")
        queryset = queryset.annotate(eztm_last_reason=Subquery(last.values("reason")[:1]))
        if not sees_all_reports(request.user):
            # Who started the last run: its result links to its log only for who may open it.
            started_by = Subquery(last.values("started_by_id")[:1])
            queryset = queryset.annotate(eztm_last_started_by=started_by)
        return queryset

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        tasks = list(self.result_list)  # evaluated once; the template reads the same rows
        ids = [task.pk for task in tasks]
        deferred = not display.is_refresh(request)
        if deferred:
            runs = {pk: [run] for pk, run in history.active_runs(ids).items()}
            self.eztm_history_url = page_url(self.model_admin.admin_site.name, Task, "history")
        else:
            runs = history.recent_runs(ids)
        texts = display.Texts(self.model_admin.admin_site.name)
        # Whose Start/Stop buttons to show: the commands the user may run, read once a page.
        runner = can_run_tasks(request)
        for task in tasks:
            task.eztm_runs = runs.get(task.pk, [])
            task.eztm_history_deferred = deferred
            task.eztm_texts = texts
            task.eztm_may_run = runner and may_run_command_id(request, task.command_id)
        self.eztm_refresh = display.refresh_config(tasks)
        self.eztm_texts = texts
        texts.visible = visible_reports(request, tasks, runs)

    def url_for_result(self, result: Task) -> str:
        """Django's link to the row's page, reversed once a page and filled in."""
        return result.eztm_texts.url(Task, "change", result.pk)

    def result_rows(self) -> list[ResultList] | None:
        """The rows' cells, as Django's ``items_for_result`` writes them, for the list's own
        columns; None when another column, an editable field or a popup needs Django's.

        Django works each cell out alone: a field lookup that fails, its empty value, two
        ``format_html``, and the link's preserved filters (a URL resolved per row) cost more
        than most of the cells' own markup. Each column writes markup, never an empty value.
        """
        admin = self.model_admin
        if (
            self.formset
            or self.is_popup
            or not set(self.list_display) <= OWN_COLUMNS
            or tuple(self.list_display_links or ()) != ("name_display",)
        ):
            return None
        context = {"preserved_filters": self.preserved_filters, "opts": self.opts}
        change_url = self.eztm_texts.url(Task, "change", Blank.PK)
        change = escape(add_preserved_filters(context, change_url)).split(Blank.PK, 1)
        columns = [(name, getattr(admin, name)) for name in self.list_display]
        rows = []
        for task in self.result_list:
            cells = []
            for name, column in columns:
                html = conditional_escape(column(task))
                if name == "action_checkbox":
                    cells.append(SafeString(f'<td class="action-checkbox">{html}</td>'))
                elif name == "name_display":
                    link = str(task.pk).join(change)
                    cells.append(
                        SafeString(f'<th class="field-{name}"><a href="{link}">{html}</a></th>')
                    )
                else:
                    cells.append(SafeString(f'<td class="field-{name}">{html}</td>'))
            rows.append(ResultList(None, cells))
        return rows


def visible_reports(
    request: HttpRequest, tasks: list[Task], runs: dict[int, list[history.Run]]
) -> set[int] | None:
    """The reports of the page the user may open (None: all of them): their own runs, and
    the last runs they started."""
    visible = history.visible_ids(request.user, (r for rs in runs.values() for r in rs))
    if visible is not None:
        user_id = request.user.pk
        visible.update(
            task.cached_last_report_id
            for task in tasks
            if user_id is not None and getattr(task, "eztm_last_started_by", None) == user_id
        )
    return visible


class TaskList:
    """The list page of :class:`~eztaskmanager_admin.task_admin.TaskAdmin` (a base class of it)."""

    list_display = ("name_display", "status_display", "last_result_display", "history_display")
    list_display_links = ("name_display",)
    # The page's commands and categories come in a query each, as does the reason the
    # last run ended (TaskChangeList.get_queryset).
    list_select_related = False
    list_filter = (
        ("category", CategoryFilter),
        StatusFilter,
        ResultFilter,
        ("command", UsedRelatedFilter),
    )
    search_fields = ("name", "note", "command__name")
    actions = ["start_selected", "stop_selected"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TaskChangeList

    def has_run_permission(self, request: HttpRequest) -> bool:
        """Who may use the Start/Stop actions (Django asks ``has_<name>_permission``)."""
        return can_run_tasks(request)

    @admin.action(description=_("Start selected tasks"), permissions=["run"])
    def start_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        taskactions.start_selected(self, request, queryset)

    @admin.action(description=_("Stop selected tasks"), permissions=["run"])
    def stop_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        taskactions.stop_selected(self, request, queryset)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        columns = tuple(super().get_list_display(request))
        return (*columns, "run_buttons") if can_run_tasks(request) else columns

    def action_checkbox(self, obj: Task) -> SafeString:
        """Django's checkbox, rendered once a page and filled in for each row: its widget's
        template costs more than the rest of the row."""
        texts = self._texts(obj)
        checkbox = texts.once("checkbox", lambda: super(TaskList, self).action_checkbox(Blank()))
        return SafeString(
            checkbox.replace(Blank.NAME, escape(str(obj))).replace(Blank.PK, str(obj.pk))
        )

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: Task) -> SafeString:
        where = f"{obj.command.name} · {obj.category}" if obj.category else obj.command.name
        return SafeString(
            f'<span class="eztm-name" title="{escape(obj.note)}">'
            f'<span class="eztm-line eztm-title">{escape(obj.name)}</span>'
            f'<span class="eztm-line eztm-quiet">{escape(where)}</span></span>'
        )

    @admin.display(description=_("status"), ordering=F("cached_next_ride").asc(nulls_last=True))
    def status_display(self, obj: Task) -> SafeString:
        """The status badge (a link to the live log while a run goes on), and the next run."""
        texts = self._texts(obj)
        active = history.active_run(self._runs(obj))
        badge = texts.status_badge(obj, active.pk if active else None)
        percent = history.progress_percent(active)
        if percent is not None:  # how far the run going on is, by its command's first bar
            badge = SafeString(f'{badge} <span class="eztm-percent">{percent}%</span>')
        nxt = ""
        if obj.cached_next_ride:
            nxt = f"{escape(texts.label('word', 'next'))} {texts.when_html(obj.cached_next_ride)}"
        return display.refresh_fragment(
            f"status-{obj.pk}", display.stack(badge, display.quiet(SafeString(nxt)))
        )

    @admin.display(description=_("last run"), ordering="cached_last_invocation_datetime")
    def last_result_display(self, obj: Task) -> SafeString:
        """The last finished run: its result (a link to its log), counts, and when it ran."""
        if not obj.cached_last_invocation_result:
            content = display.quiet(_("never run"))
        else:
            texts = self._texts(obj)
            badge = texts.result_badge(
                obj.cached_last_invocation_result,
                obj.cached_last_report_id,
                reason=obj.eztm_last_reason or "",
            )
            counts = texts.counts_html(
                obj.cached_last_invocation_n_errors, obj.cached_last_invocation_n_warnings
            )
            content = display.stack(
                SafeString(f"{badge}{counts}"),
                display.quiet(texts.when_html(obj.cached_last_invocation_datetime)),
            )
        return display.refresh_fragment(f"result-{obj.pk}", content)

    @admin.display(description=_("history"))
    def history_display(self, obj: Task) -> SafeString:
        if getattr(obj, "eztm_history_deferred", False):
            return display.refresh_fragment(f"history-{obj.pk}", list_history.placeholder(obj.pk))
        texts = self._texts(obj)
        return display.refresh_fragment(
            f"history-{obj.pk}", history.sparkline(self._runs(obj), texts.admin_site_name, texts)
        )

    @admin.display(description=_("run"))
    def run_buttons(self, obj: Task) -> SafeString:
        # The row sits inside the changelist form (nested forms are invalid): each button
        # posts that form, with its CSRF token, to its own action URL. Only the buttons
        # that do something in the task's state are shown, to a user the task's command
        # allows. Start on a protected task leads to its confirmation page.
        texts = self._texts(obj)
        buttons = []
        if getattr(obj, "eztm_may_run", True):
            if can_start(obj):
                css = "button eztm-start eztm-protected" if obj.protected else "button eztm-start"
                buttons.append(("start", css, texts.label("word", "start")))
            if can_stop(obj):
                buttons.append(("stop", "button eztm-stop", texts.label("word", "stop")))
        html = "".join(
            f'<button type="submit" class="{css}" formmethod="post" '
            f'formaction="{escape(texts.url(Task, action, obj.pk))}">{escape(label)}</button>'
            for action, css, label in buttons
        )
        return display.refresh_fragment(
            f"buttons-{obj.pk}", SafeString(f'<span class="eztm-run-buttons">{html}</span>')
        )

    def _runs(self, obj: Task) -> list[history.Run]:
        """The task's last runs: read for the whole list page, or for the task's own page."""
        runs = getattr(obj, "eztm_runs", None)
        if runs is None:
            runs = obj.eztm_runs = history.task_runs(obj.pk)
        return runs

    def _texts(self, obj: Task) -> display.Texts:
        """The list page's texts (one for all its rows), or new ones for the task's own page."""
        texts = getattr(obj, "eztm_texts", None)
        if texts is None:
            texts = obj.eztm_texts = display.Texts(self.admin_site.name)
        return texts

    def _action_url(self, action: str, pk: int) -> str:
        return page_url(self.admin_site.name, Task, action, pk)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        """The list, with a warning when scheduled tasks have no scheduler to start them."""
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            extra_context.update(health.warning_context(request, self.admin_site))
        if display.is_refresh(request):
            extra_context["messages"] = []  # they wait for the next page the user opens
        return super().changelist_view(request, extra_context)
