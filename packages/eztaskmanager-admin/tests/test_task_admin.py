"""The Tasks section: list, filters, detail page, form validation, Start and Stop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import DEFAULT_TAGS, get_messages
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import LaunchReport, Task, TaskCategory
from eztaskmanager.services.queues import StopOutcome, get_task_service
from eztaskmanager_admin import taskactions
from tests.backends import SchedulingBackend

CHANGELIST = "admin:eztaskmanager_task_changelist"
UNREACHABLE = {"BACKEND": "tests.backends.UnreachableBackend"}
QUEUEING = {"BACKEND": "tests.backends.QueueingBackend"}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_list_is_sorted_by_last_launch_most_recent_first(client_as, task):
    now = timezone.now()
    task(name="never run")
    task(name="old", cached_last_invocation_datetime=now - timedelta(days=2))
    task(name="recent", cached_last_invocation_datetime=now - timedelta(hours=1))
    response = client_as("superuser").get(reverse(CHANGELIST))
    names = [t.name for t in response.context["cl"].result_list]
    assert names == ["recent", "old", "never run"]


def test_the_list_shows_note_on_hover_and_a_coloured_result_linking_to_the_log(
    client_as, task, report
):
    owner = task(name="Nightly import", note='Imports "everything" <fast>')
    run = report([("WARNING", "careful")], task=owner)
    html = client_as("superuser").get(reverse(CHANGELIST)).content.decode()
    assert 'title="Imports &quot;everything&quot; &lt;fast&gt;"' in html
    log = reverse("admin:eztaskmanager_launchreport_log_viewer", args=[run.pk])
    assert f'class="eztm-result eztm-result-warnings" href="{log}"' in html
    for header in ("Name", "Status", "Last run", "History", "Run"):
        assert f">{header}</a>" in html or f">{header}</span>" in html, header
    assert 'class="eztm-chip eztm-chip-warnings" title="1 warning">1<' in html
    assert 'class="eztm-status eztm-status-idle"' in html and ">Idle</span>" in html
    # An idle task can be started, not stopped.
    assert ">Start</button>" in html and ">Stop</button>" not in html


@override_settings(EZTASKMANAGER={"BACKEND": "immediate", "SHOW_LOGVIEWER_LINK": False})
def test_log_links_can_be_switched_off_as_in_the_seed(client_as, task, report):
    run = report([("INFO", "x")], task=task())
    html = client_as("superuser").get(reverse(CHANGELIST)).content.decode()
    assert reverse("admin:eztaskmanager_launchreport_log_viewer", args=[run.pk]) not in html
    assert "eztm-result-ok" in html


def test_filters_and_search(client_as, task, report, command):
    ops = TaskCategory.objects.create(name="ops")
    failing = task(name="alpha", category=ops, note="feeds the warehouse")
    report([("ERROR", "boom")], task=failing)
    task(name="beta", command=command("collectcommands"))
    client = client_as("superuser")

    def names(**params):
        response = client.get(reverse(CHANGELIST), params)
        return sorted(t.name for t in response.context["cl"].result_list)

    assert names(category__id__exact=ops.pk) == ["alpha"]
    assert names(result="errors") == ["alpha"]
    assert names(result="ok") == []
    assert names(status="idle") == ["alpha", "beta"]
    assert names(command__id__exact=failing.command_id) == ["alpha"]
    assert names(q="warehouse") == ["alpha"]
    assert names(q="collectcommands") == ["beta"]


def test_the_detail_page_has_the_seed_sections_and_the_reports_inline(client_as, task, report):
    owner = task()
    run = report([("INFO", f"line {i}") for i in range(5)] + [("ERROR", "<b>bad</b>")], task=owner)
    response = client_as("superuser").get(
        reverse("admin:eztaskmanager_task_change", args=[owner.pk])
    )
    html = response.content.decode()
    for section in ("Definition", "Scheduling", "Last execution"):
        assert f">{section}</h2>" in html
    assert "Separate arguments with a comma" in html  # the syntax help
    assert "3 lines hidden ..." in html  # REPORT_LOG_TAIL_LINES = 3 in the test settings
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "<b>bad</b>" not in html
    assert "line 1" not in html and "line 4" in html
    assert "Show the log messages" in html
    assert reverse("admin:eztaskmanager_launchreport_log_viewer", args=[run.pk]) in html
    assert 'class="eztm-status eztm-status-idle"' in html
    start = reverse("admin:eztaskmanager_task_start", args=[owner.pk])
    assert f'action="{start}"' in html
    assert "eztm-stop" not in html  # nothing to stop
    readonly = response.context["adminform"].readonly_fields
    assert "status_display" in readonly and "next_run_display" in readonly
    assert "scheduled_job_id" not in html  # the engine's handle is no one's business here


@override_settings(EZTASKMANAGER={"BACKEND": "immediate", "REPORTS_INLINE": 2, "REPORTS_KEPT": 10})
def test_the_inline_shows_the_last_reports_newest_first(client_as, task, report):
    owner = task()
    runs = [report([("INFO", f"run {i}")], task=owner) for i in range(4)]
    response = client_as("superuser").get(
        reverse("admin:eztaskmanager_task_change", args=[owner.pk])
    )
    formset = response.context["inline_admin_formsets"][0].formset
    assert [form.instance.pk for form in formset.forms] == [runs[3].pk, runs[2].pk]


def test_a_task_is_created_through_the_form_and_bad_arguments_are_a_form_error(client_as, command):
    cmd = command()
    inactive = command("collectcommands", active=False)
    client = client_as("superuser")
    add = reverse("admin:eztaskmanager_task_add")
    form = client.get(add).context["adminform"].form
    assert list(form.fields["command"].queryset) == [cmd]  # only active commands
    data = {
        "name": "Live logging test",
        "command": cmd.pk,
        "arguments": "--limit=notanumber",
        "launchreport_set-TOTAL_FORMS": "0",
        "launchreport_set-INITIAL_FORMS": "0",
    }
    response = client.post(add, data)
    assert response.status_code == 200
    assert "arguments" in response.context["adminform"].form.errors
    assert not Task.objects.exists()
    response = client.post(add, {**data, "command": inactive.pk, "arguments": ""})
    assert "command" in response.context["adminform"].form.errors
    response = client.post(add, {**data, "arguments": "--limit=5, --sleep=0"})
    assert response.status_code == 302
    assert Task.objects.get().args == ["--limit=5", "--sleep=0"]


def test_start_runs_the_task_says_so_and_lands_on_the_runs_live_log(client_as, task):
    target = task()
    response = client_as("permitted").post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk]),
        {"next": reverse("admin:eztaskmanager_task_change", args=[target.pk])},
    )
    run = LaunchReport.objects.get(task=target)
    live = reverse("admin:eztaskmanager_launchreport_live_log_viewer", args=[run.pk])
    assert response["Location"] == live
    assert messages_of(response) == [f"{target} was started."]
    assert run.invocation_result == "ok" and run.n_log_lines >= 2


def test_start_of_a_running_task_lands_on_the_live_log_of_the_run_going_on(client_as, task, report):
    target = task()
    running = report(task=target, finished=False)
    response = client_as("permitted").post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk])
    )
    live = reverse("admin:eztaskmanager_launchreport_live_log_viewer", args=[running.pk])
    assert response["Location"] == live
    assert messages_of(response) == [f"{target} is already running."]


def test_start_goes_back_where_it_was_for_who_may_not_read_logs(client_as, task):
    target = task()
    client = client_as("permitted")
    User.objects.get(username="permitted").user_permissions.remove(
        Permission.objects.get(codename="view_launchreport")
    )
    page = reverse("admin:eztaskmanager_task_change", args=[target.pk])
    response = client.post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk]), {"next": page}
    )
    assert response["Location"] == page


def test_stop_ignores_a_next_url_on_another_host(client_as, task):
    target = task()
    response = client_as("permitted").post(
        reverse("admin:eztaskmanager_task_stop", args=[target.pk]),
        {"next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse(CHANGELIST)


@pytest.mark.parametrize("state", ["queued", "running"])
def test_starting_a_task_whose_run_has_not_ended_is_refused_with_a_warning(
    client_as, task, report, state
):
    target = task()
    report(task=target, finished=False, state=state, queued_at=timezone.now())
    response = client_as("permitted").post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk])
    )
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "warning"
    assert str(message) == f"{target} is already {state}."
    assert LaunchReport.objects.filter(task=target).count() == 1


@override_settings(EZTASKMANAGER=QUEUEING)
def test_start_says_queued_while_no_worker_has_the_run(client_as, task):
    target = task()
    response = client_as("permitted").post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk])
    )
    assert messages_of(response) == [f"{target} was queued: it starts when a worker takes it."]
    run = LaunchReport.objects.get(task=target)
    assert run.state == LaunchReport.STATE_QUEUED and run.job_id
    target.refresh_from_db()
    assert target.status == Task.STATUS_SPOOLED


@override_settings(EZTASKMANAGER=UNREACHABLE)
def test_start_with_the_queue_down_is_an_error_message_and_changes_nothing(client_as, task):
    target = task()
    response = client_as("permitted").post(
        reverse("admin:eztaskmanager_task_start", args=[target.pk])
    )
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "error"
    assert "was not started" in str(message) and "Connection refused" in str(message)
    target.refresh_from_db()
    assert target.status == Task.STATUS_IDLE
    assert not LaunchReport.objects.filter(task=target).exists()


def stop(client_as, target: Task, role: str = "permitted"):
    response = client_as(role).post(reverse("admin:eztaskmanager_task_stop", args=[target.pk]))
    [message] = get_messages(response.wsgi_request)
    return message


def test_stop_with_nothing_to_stop_says_so(client_as, task):
    target = task()
    message = stop(client_as, target)
    assert (message.level_tag, str(message)) == ("info", f"{target} had nothing to stop.")
    target.refresh_from_db()
    assert target.status == Task.STATUS_IDLE


@override_settings(EZTASKMANAGER=QUEUEING)
def test_stop_of_a_queued_run_ends_it_before_it_starts(client_as, task):
    target = task()
    queued = get_task_service().add(target)
    message = stop(client_as, target)
    assert (message.level_tag, str(message)) == ("success", f"{target} was stopped.")
    queued.refresh_from_db()
    assert queued.state == LaunchReport.STATE_FINISHED
    assert queued.invocation_result == LaunchReport.RESULT_STOPPED
    assert queued.reason == "Stopped by permitted before it started."
    target.refresh_from_db()
    assert target.status == Task.STATUS_IDLE


@override_settings(EZTASKMANAGER=QUEUEING)
def test_stop_of_a_run_that_has_not_stopped_yet_says_it_is_stopping(
    client_as, task, report, monkeypatch
):
    monkeypatch.setattr("eztaskmanager.services.queues.STOP_WAIT_SECONDS", 0.2)
    target = task()
    running = report([("INFO", "working")], task=target, finished=False)
    message = stop(client_as, target)
    assert (message.level_tag, str(message)) == ("warning", f"{target} is stopping.")
    running.refresh_from_db()
    assert running.state == LaunchReport.STATE_STOPPING
    assert running.log_tail(1) and running.log_tail(1)[0].endswith("Stop requested by permitted.")


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_stop_of_a_scheduled_task_says_its_schedule_was_cancelled(client_as, task):
    SchedulingBackend.jobs.clear()
    target = task(scheduling=timezone.now() + timedelta(days=1))
    get_task_service().add(target)
    assert SchedulingBackend.jobs
    message = stop(client_as, target)
    assert (message.level_tag, str(message)) == (
        "success",
        f"{target}'s schedule was cancelled.",
    )
    target.refresh_from_db()
    assert (target.status, target.scheduled_job_id) == (Task.STATUS_IDLE, "")
    assert SchedulingBackend.jobs == {}


@pytest.mark.parametrize(
    ("outcome", "level", "text"),
    [
        (
            StopOutcome(stopped=1, unscheduled=True),
            "success",
            "X was stopped. Its schedule was cancelled.",
        ),
        (StopOutcome(stopped=1, stopping=1), "warning", "X is stopping."),
        (
            StopOutcome(stopping=1, unscheduled=True),
            "warning",
            "X is stopping. Its schedule was cancelled.",
        ),
    ],
)
def test_stop_messages_of_mixed_outcomes(outcome, level, text):
    got_level, got_text = taskactions.stop_message(Task(name="X"), outcome)
    assert (DEFAULT_TAGS[got_level], got_text) == (level, text)


@override_settings(EZTASKMANAGER=UNREACHABLE)
def test_stop_with_the_queue_down_is_an_error_message(client_as, task):
    target = task()
    target.arm_schedule("job-1", timezone.now() + timedelta(hours=1))
    message = stop(client_as, target)
    assert message.level_tag == "error" and "was not stopped" in str(message)
    assert "Connection refused" in str(message)
    target.refresh_from_db()
    assert target.scheduled_job_id == "job-1"  # the engine still has it: so does the task


def test_stop_of_a_running_run_on_a_backend_that_cannot_stop_is_an_error(client_as, task, report):
    target = task()
    running = report(task=target, finished=False)
    message = stop(client_as, target)
    assert message.level_tag == "error" and "cannot stop a running task" in str(message)
    running.refresh_from_db()
    assert running.state == LaunchReport.STATE_RUNNING


@pytest.mark.parametrize("role", ["permitted", "superuser"])
def test_the_launch_reports_section_is_read_only(client_as, report, role):
    run = report()
    client = client_as(role)
    assert client.get(reverse("admin:eztaskmanager_launchreport_changelist")).status_code == 200
    page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert client.get(reverse("admin:eztaskmanager_launchreport_add")).status_code == 403


def test_the_inline_shows_the_state_of_runs_that_have_not_ended_and_why_others_ended(
    client_as, task, report
):
    owner = task()
    stopped = report([("INFO", "one")], task=owner, finished=False)
    stopped.finish("stopped", "Stopped after 1.5 s.")
    queued = report(task=owner, finished=False, state="queued", queued_at=timezone.now())
    html = (
        client_as("superuser")
        .get(reverse("admin:eztaskmanager_task_change", args=[owner.pk]))
        .content.decode()
    )
    live = reverse("admin:eztaskmanager_launchreport_live_log_viewer", args=[queued.pk])
    assert f'class="eztm-result eztm-state-queued" href="{live}"' in html
    assert ">QUEUED</a>" in html
    log = reverse("admin:eztaskmanager_launchreport_log_viewer", args=[stopped.pk])
    assert (
        f'class="eztm-result eztm-result-stopped" href="{log}" title="Stopped after 1.5 s."' in html
    )


def test_the_reports_list_shows_states_and_reasons(client_as, task, report):
    owner = task(name="Importer")
    ended = report([("INFO", "one")], task=owner, finished=False)
    ended.finish("failed", "Worker lost: no heartbeat for 75 s (host-1 (pid 42)).")
    report(task=owner, finished=False, state="stopping")
    client = client_as("superuser")
    changelist = reverse("admin:eztaskmanager_launchreport_changelist")
    html = client.get(changelist).content.decode()
    assert ">STOPPING</a>" in html and "eztm-result-failed" in html
    assert 'title="Worker lost: no heartbeat for 75 s (host-1 (pid 42))."' in html
    stopping = client.get(changelist, {"state__exact": "stopping"}).context["cl"].result_list
    assert [r.state for r in stopping] == ["stopping"]
    page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[ended.pk]))
    detail = page.content.decode()
    assert "Worker lost: no heartbeat for 75 s" in detail and "Reason" in detail


def test_the_task_list_says_why_the_last_run_ended_on_hover(client_as, task, report):
    owner = task()
    run = report(task=owner, finished=False)
    run.finish("failed", "Timed out after 30 s.")
    html = client_as("superuser").get(reverse(CHANGELIST)).content.decode()
    assert 'class="eztm-result eztm-result-failed"' in html
    assert 'title="Timed out after 30 s."' in html
