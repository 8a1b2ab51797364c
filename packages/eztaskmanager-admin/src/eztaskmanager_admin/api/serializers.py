"""Tasks, reports and artifacts as JSON-ready dicts: plain functions, one shape per thing.

Secret arguments are never sent, only whether there are some (``"***"``); times are ISO
8601 (``JsonResponse``'s encoder); links are absolute URLs of the API itself.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from eztaskmanager.models import Artifact, LaunchReport, Task
from eztaskmanager.permissions import may_run, may_see_report

SECRET_MASK = "***"


def api_url(request: HttpRequest, name: str, *args: Any) -> str:
    """The absolute URL of the API's view ``name`` in the namespace that served ``request``."""
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match is not None and match.namespace else "eztaskmanager"
    return request.build_absolute_uri(reverse(f"{namespace}:{name}", args=args))


def masked(secret: str) -> str:
    return SECRET_MASK if secret else ""


def task_json(request: HttpRequest, task: Task) -> dict[str, Any]:
    """A task as the list shows it: what it runs, its status, schedule and last run."""
    command = task.command
    category = task.category
    return {
        "id": task.pk,
        "name": task.name,
        "url": api_url(request, "api-task-detail", task.pk),
        "command": {"id": command.pk, "app_name": command.app_name, "name": command.name},
        "arguments": task.arguments,
        "secret_arguments": masked(task.secret_arguments),
        "protected": task.protected,
        "category": None if category is None else {"id": category.pk, "name": category.name},
        "status": task.status,
        "next_run": task.cached_next_ride,
        "last_run": {
            "at": task.cached_last_invocation_datetime,
            "result": task.cached_last_invocation_result,
            "n_errors": task.cached_last_invocation_n_errors,
            "n_warnings": task.cached_last_invocation_n_warnings,
        }
        if task.cached_last_invocation_datetime
        else None,
    }


def task_detail_json(request: HttpRequest, task: Task) -> dict[str, Any]:
    """A task with its schedule, note, its last report (when the caller may see it) and
    whether the caller may start and stop it."""
    data = task_json(request, task)
    last = task.cached_last_report
    if data["last_run"] is not None and last is not None and may_see_report(request.user, last):
        data["last_run"]["report"] = report_json(request, last)
    data.update(
        note=task.note,
        queue=task.queue,
        timeout=task.timeout,
        schedule={
            "scheduling": task.scheduling,
            "repetition_period": task.repetition_period,
            "repetition_rate": task.repetition_rate,
            "cron": task.cron,
            "periodic": task.is_periodic,
            "armed": bool(task.scheduled_job_id),
        },
        may_run=may_run(request.user, task),
        start_url=api_url(request, "api-task-start", task.pk),
        stop_url=api_url(request, "api-task-stop", task.pk),
        reports_url=f"{api_url(request, 'api-report-list')}?task={task.pk}",
    )
    return data


def report_json(request: HttpRequest, report: LaunchReport) -> dict[str, Any]:
    """A run: its state and result, what it ran, who started it, its counters and times."""
    duration = report.duration
    return {
        "id": report.pk,
        "url": api_url(request, "api-report-detail", report.pk),
        "task": {"id": report.task_id, "name": report.task.name},
        "state": report.state,
        "result": report.invocation_result,
        "reason": report.reason,
        "command": report.ran_command,
        "arguments": report.ran_arguments,
        "custom_arguments": report.custom_arguments,
        "origin": report.origin,
        "started_by": report.started_by.get_username() if report.started_by else None,
        "queued_at": report.queued_at,
        "started_at": report.invocation_datetime,
        "finished_at": report.finished_at,
        "duration": None if duration is None else duration.total_seconds(),
        "attempt": report.attempt,
        "n_lines": report.n_log_lines,
        "n_errors": report.n_log_errors,
        "n_warnings": report.n_log_warnings,
        "progress": report.progress or {},
        "lines_url": api_url(request, "api-report-lines", report.pk),
    }


def report_detail_json(request: HttpRequest, report: LaunchReport) -> dict[str, Any]:
    """A run with its worker and its artifacts (each with its download URL)."""
    data = report_json(request, report)
    data.update(
        worker=report.worker,
        job_id=report.job_id,
        stop_url=api_url(request, "api-report-stop", report.pk),
        artifacts=[artifact_json(request, artifact) for artifact in report.artifacts.all()],
    )
    return data


def artifact_json(request: HttpRequest, artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.pk,
        "name": artifact.name,
        "size": artifact.size,
        "content_type": artifact.content_type,
        "created_at": artifact.created_at,
        "url": api_url(request, "api-artifact", artifact.report_id, artifact.pk),
    }
