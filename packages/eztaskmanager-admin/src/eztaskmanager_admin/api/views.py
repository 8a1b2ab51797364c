"""The API's views: class-based, JSON in and out, every error a ``{"error": ...}`` document.

Each view authenticates the caller (:mod:`.auth`), checks the admin's permissions, and
hands starts and stops to the queue backend with the caller as the origin (``API``), so
the backend applies :mod:`eztaskmanager.permissions` and records the audit trail as it
does for the admin. Log lines are read by the log viewer's reader
(:mod:`eztaskmanager_admin.logreader`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from eztaskmanager.arguments import InvalidArguments
from eztaskmanager.exceptions import (
    TaskAlreadyRunning,
    TaskNotAllowed,
    TaskNotRunnable,
    TaskNotStoppable,
    TaskQueueException,
)
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.origins import API, Origin
from eztaskmanager.permissions import may_run, may_see_report, visible_reports
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_admin import logreader
from eztaskmanager_admin.api import serializers
from eztaskmanager_admin.api.auth import authenticate, require_view_reports, require_view_tasks
from eztaskmanager_admin.api.errors import ApiError, bad_request, conflict, not_allowed, not_found
from eztaskmanager_admin.api.params import (
    MAX_ID,
    choice_param,
    clean_text,
    int_param,
    json_body,
    keyset_page,
    text_param,
)

logger = logging.getLogger(__name__)

# Log lines: a page when the client does not say, and at most.
DEFAULT_LINES = 1000
MAX_LINES = 5000


@method_decorator(csrf_exempt, name="dispatch")
class ApiView(View):
    """Authenticate, dispatch, and answer every refusal as JSON; never cached.

    CSRF is checked by :func:`.auth.authenticate` for session requests only: a token
    request carries its credentials in a header no other site can make a browser send.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self.via = authenticate(request)
            response = super().dispatch(request, *args, **kwargs)
        except ApiError as error:
            response = error.response()
        add_never_cache_headers(response)
        return response

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        allowed = ", ".join(self._allowed_methods())
        error = ApiError(
            405,
            _("Method %(method)s is not allowed here; use %(allowed)s.")
            % {"method": request.method, "allowed": allowed},
        )
        error.headers["Allow"] = allowed
        raise error

    @property
    def origin(self) -> Origin:
        return Origin(API, self.request.user)


def found_task(user: Any, pk: int) -> Task:
    """The task ``pk`` for a user who may view tasks; 404 when there is none."""
    require_view_tasks(user)
    task = Task.objects.select_related("command", "category", "cached_last_report").filter(pk=pk)
    found = task.first()
    if found is None:
        raise not_found(_("No task with id %(id)s.") % {"id": pk})
    return found


def found_report(user: Any, pk: int) -> LaunchReport:
    """The report ``pk`` if ``user`` may see it; 404 for one that is missing or not theirs
    to see (saying which would tell that it exists)."""
    require_view_reports(user)
    report = (
        LaunchReport.objects.select_related("task__command", "started_by").filter(pk=pk).first()
    )
    if report is None or not may_see_report(user, report):
        raise not_found(_("No report with id %(id)s.") % {"id": pk})
    return report


def engine_unreachable(action: str, exc: Exception) -> ApiError:
    logger.warning("API: could not %s: %s", action, exc)
    return ApiError(503, exc)


class IndexView(ApiView):
    """``GET``: who the caller is, and where the API's lists are."""

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(
            {
                "version": 1,
                "user": request.user.get_username(),
                "authenticated_by": self.via,
                "tasks_url": serializers.api_url(request, "api-task-list"),
                "reports_url": serializers.api_url(request, "api-report-list"),
            }
        )


class TaskListView(ApiView):
    """``GET ?status= &category= &command= &after= &limit=``: tasks by id, a page at a time."""

    def get(self, request: HttpRequest) -> JsonResponse:
        require_view_tasks(request.user)
        tasks = Task.objects.select_related("command", "category")
        status = choice_param(request, "status", Task.STATUS_CHOICES)
        if status:
            tasks = tasks.filter(status=status)
        category = text_param(request, "category")
        if category:
            by_name = Q(category__name=category)
            is_id = category.isascii() and category.isdigit() and int(category) <= MAX_ID
            tasks = tasks.filter(by_name | Q(category_id=int(category)) if is_id else by_name)
        command = text_param(request, "command")
        if command:
            tasks = tasks.filter(command__name=command)
        rows, next_url = keyset_page(request, tasks)
        return JsonResponse(
            {"results": [serializers.task_json(request, task) for task in rows], "next": next_url}
        )


class TaskDetailView(ApiView):
    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        task = found_task(request.user, pk)
        return JsonResponse(serializers.task_detail_json(request, task))


def require_run(user: Any, task: Task) -> None:
    """Refuse (403) a caller who may not start or stop ``task``, before anything about it
    is said (a protected task's arguments, a run's state)."""
    if not may_run(user, task):
        raise not_allowed(_("You may not start or stop %(task)s.") % {"task": task})


@contextmanager
def service_errors(what: str) -> Iterator[None]:
    """The queue backend's refusals as the API's answers: 400, 403, 409, or 503 (``what``
    names the action in the log)."""
    try:
        yield
    except InvalidArguments as exc:
        raise bad_request(exc) from exc
    except TaskNotAllowed as exc:
        raise not_allowed(exc) from exc
    except (TaskAlreadyRunning, TaskNotRunnable, TaskNotStoppable) as exc:
        raise conflict(exc) from exc
    except TaskQueueException as exc:
        raise engine_unreachable(what, exc) from exc


class TaskStartView(ApiView):
    """``POST {"arguments": "...", "confirm": true}``: run now (201, its report) or arm the
    schedule (202); other arguments make a one-off run, a protected task needs ``confirm``."""

    def post(self, request: HttpRequest, pk: int) -> JsonResponse:
        body = json_body(request)
        task = found_task(request.user, pk)
        require_run(request.user, task)
        arguments = body.get("arguments")
        if arguments is not None:
            if not isinstance(arguments, str):
                raise bad_request(_("arguments must be a string."))
            clean_text(arguments, "arguments")
        confirm = body.get("confirm", False)
        if not isinstance(confirm, bool):
            raise bad_request(_("confirm must be true or false."))
        if task.protected and not confirm:
            shown = task.arguments if arguments is None else arguments
            raise conflict(
                _(
                    "%(task)s is protected: it runs %(command)s with arguments %(arguments)s. "
                    'Send {"confirm": true} to start it.'
                )
                % {"task": task, "command": task.command, "arguments": shown or _("(none)")},
                confirmation_required=True,
            )
        service = get_task_service()
        with service_errors(f"start task {task.pk}"):
            if arguments is None:
                report = service.add(task, by=self.origin)
            else:
                report = service.run_once(task, arguments, by=self.origin)
        if report is None:
            task.refresh_from_db()
            return JsonResponse(
                {
                    "scheduled": True,
                    "next_run": task.cached_next_ride,
                    "task": serializers.task_json(request, task),
                },
                status=202,
            )
        report.refresh_from_db()
        response = JsonResponse(serializers.report_json(request, report), status=201)
        response["Location"] = serializers.api_url(request, "api-report-detail", report.pk)
        return response


class TaskStopView(ApiView):
    """``POST``: stop the task's runs, then cancel its schedule (the admin's Stop)."""

    def post(self, request: HttpRequest, pk: int) -> JsonResponse:
        task = found_task(request.user, pk)
        require_run(request.user, task)
        with service_errors(f"stop task {task.pk}"):
            outcome = get_task_service().stop_task(task, by=self.origin)
        return JsonResponse(
            {
                "stopped": outcome.stopped,
                "stopping": outcome.stopping,
                "unscheduled": outcome.unscheduled,
                "nothing": outcome.nothing,
            }
        )


class ReportListView(ApiView):
    """``GET ?task= &state= &result= &before= &limit=``: the reports the caller may see,
    newest first."""

    def get(self, request: HttpRequest) -> JsonResponse:
        require_view_reports(request.user)
        reports = visible_reports(
            request.user, LaunchReport.objects.select_related("task__command", "started_by")
        )
        task = int_param(request, "task")
        if task is not None:
            reports = reports.filter(task_id=task)
        state = choice_param(request, "state", LaunchReport.STATE_CHOICES)
        if state:
            reports = reports.filter(state=state)
        result = choice_param(request, "result", LaunchReport.RESULT_CHOICES)
        if result:
            reports = reports.filter(invocation_result=result)
        rows, next_url = keyset_page(request, reports, newest_first=True)
        return JsonResponse(
            {
                "results": [serializers.report_json(request, report) for report in rows],
                "next": next_url,
            }
        )


class ReportDetailView(ApiView):
    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        report = found_report(request.user, pk)
        return JsonResponse(serializers.report_detail_json(request, report))


class ReportLinesView(ApiView):
    """``GET ?after=<line>&limit=<n>``: the lines numbered after ``after`` (all from the
    first without it), by keyset on the line number, with the run's state."""

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        report = found_report(request.user, pk)
        after = int_param(request, "after")
        limit = int_param(request, "limit", DEFAULT_LINES, minimum=1, maximum=MAX_LINES)
        start = 0 if after is None else after + 1
        try:
            page = logreader.read_page(report.pk, start, limit)
        except LaunchReport.DoesNotExist:  # deleted meanwhile
            raise not_found(_("No report with id %(id)s.") % {"id": pk}) from None
        lines = page["new_log_lines"]
        cursor = lines[-1]["line"] if lines else after
        has_more = page["next_offset"] < page["log_size"]
        next_url = None
        if has_more or not page["finished"]:
            query = {"limit": limit} if cursor is None else {"after": cursor, "limit": limit}
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return JsonResponse(
            {
                "report": report.pk,
                "state": page["state"],
                "finished": page["finished"],
                "result": page["result"],
                "reason": page["reason"],
                "log_size": page["log_size"],
                "n_errors": page["n_log_errors"],
                "n_warnings": page["n_log_warnings"],
                "progress": page["progress"],
                "lines": lines,
                "next": cursor,
                "has_more": has_more,
                "next_url": next_url,
            }
        )


class ReportStopView(ApiView):
    """``POST``: stop this run (queued: at once; running: it ends ``stopped`` shortly)."""

    def post(self, request: HttpRequest, pk: int) -> JsonResponse:
        report = found_report(request.user, pk)
        require_run(request.user, report.task)
        if report.state not in LaunchReport.ACTIVE_STATES:
            raise conflict(_("This run has already ended."))
        with service_errors(f"stop report {report.pk}"):
            state = get_task_service().stop(report, by=self.origin)
        report.refresh_from_db()
        return JsonResponse({"state": state, "report": serializers.report_json(request, report)})


class ArtifactView(ApiView):
    """``GET``: download one of the run's files, for a caller who may see the run."""

    def get(self, request: HttpRequest, pk: int, artifact_id: int) -> FileResponse:
        report = found_report(request.user, pk)
        artifact = report.artifacts.filter(pk=artifact_id).first()
        if artifact is None:
            raise not_found(_("No artifact with id %(id)s in this report.") % {"id": artifact_id})
        try:
            handle = artifact.file.open("rb")
        except (FileNotFoundError, ValueError, OSError):
            raise not_found(
                _("The file of %(name)s is missing.") % {"name": artifact.name}
            ) from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=artifact.name,
            content_type=artifact.content_type or None,
        )


class NotFoundView(View):
    """Any other URL under the API: a 404 in JSON, as every other error."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return ApiError(
            404, _("No such API endpoint: %(path)s") % {"path": request.path}
        ).response()


not_found_view = csrf_exempt(NotFoundView.as_view())
