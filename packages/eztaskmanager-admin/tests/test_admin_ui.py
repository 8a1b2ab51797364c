"""The admin as people use it: buttons that fit, a schedule booked on save, a clean form,
filters in words, one clock, the report page, the run history and pages that refresh."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from eztaskmanager.models import LaunchReport, Task, TaskCategory
from eztaskmanager_admin import display, history
from tests.backends import SchedulingBackend

CHANGELIST = reverse("admin:eztaskmanager_task_changelist")
SCHEDULING = {"BACKEND": "tests.backends.SchedulingBackend"}


@pytest.fixture(autouse=True)
def clear_jobs():
    SchedulingBackend.jobs.clear()
    yield
    SchedulingBackend.jobs.clear()


def change_url(task: Task) -> str:
    return reverse("admin:eztaskmanager_task_change", args=[task.pk])


def row_buttons(html: str, task: Task) -> list[str]:
    """The labels of the run buttons of ``task``'s row in the task list."""
    start = reverse("admin:eztaskmanager_task_start", args=[task.pk])
    stop = reverse("admin:eztaskmanager_task_stop", args=[task.pk])
    return [label for url, label in ((start, "Start"), (stop, "Stop")) if f'"{url}"' in html]


def tool_buttons(html: str) -> list[str]:
    return [label for label in ("Start", "Stop") if f">{label}</button>" in html]


def start_run(task: Task, job_id: str) -> LaunchReport:
    """A run of ``task`` that a worker has started, through the core's transitions."""
    task.queue_run(job_id)
    return LaunchReport.objects.start_run(task.pk, job_id, worker="tests")


# Buttons -------------------------------------------------------------------------------------
def test_only_the_buttons_that_do_something_are_shown(client_as, task, report):
    idle = task(name="idle")
    queued = task(name="queued")
    queued.queue_run("q-1")
    running = task(name="running")
    start_run(running, "r-1")
    scheduled = task(name="scheduled")
    scheduled.arm_schedule("job-1", timezone.now() + timedelta(hours=1))
    both = task(name="scheduled and running")
    both.arm_schedule("job-2", timezone.now() + timedelta(hours=1))
    start_run(both, "r-2")
    for target in (queued, running, scheduled, both):
        target.refresh_from_db()
    expected = {
        idle: ["Start"],
        queued: ["Stop"],
        running: ["Stop"],
        scheduled: ["Start", "Stop"],  # Start books the schedule again from the fields
        both: ["Stop"],  # a run is going on: Start would be refused
    }
    client = client_as("superuser")
    html = client.get(CHANGELIST).content.decode()
    for target, labels in expected.items():
        assert row_buttons(html, target) == labels, target
        assert tool_buttons(client.get(change_url(target)).content.decode()) == labels, target


# A schedule is booked when it is saved -------------------------------------------------------
def add_form(command, when, **fields) -> dict[str, str]:
    local = timezone.localtime(when)
    return {
        "name": "Reminders",
        "command": str(command.pk),
        "arguments": "--limit=1,--sleep=0",
        "scheduling_0": local.strftime("%Y-%m-%d"),
        "scheduling_1": local.strftime("%H:%M:%S"),
        "repetition_period": "hour",
        "repetition_rate": "2",
        **fields,
    }


@override_settings(EZTASKMANAGER=SCHEDULING)
def test_saving_a_new_periodic_task_books_its_schedule_and_says_when(client_as, command):
    first = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    response = client_as("superuser").post(
        reverse("admin:eztaskmanager_task_add"), add_form(command(), first), follow=True
    )
    task = Task.objects.get(name="Reminders")
    assert (task.status, task.cached_next_ride) == (Task.STATUS_SCHEDULED, first)
    assert list(SchedulingBackend.jobs.values()) == [first]
    when = date_format(timezone.localtime(first), "DATETIME_FORMAT")
    said = [str(m) for m in response.context["messages"]]
    assert f"Reminders is scheduled; next run: {when}." in said


@override_settings(EZTASKMANAGER=SCHEDULING)
def test_a_user_who_may_not_start_tasks_is_told_who_books_the_schedule(client_as, command):
    client = client_as("permitted")
    user = User.objects.get(username="permitted")
    user.user_permissions.remove(Permission.objects.get(codename="run_task"))
    user.user_permissions.add(Permission.objects.get(codename="add_task"))
    first = timezone.now() + timedelta(hours=1)
    response = client.post(
        reverse("admin:eztaskmanager_task_add"), add_form(command(), first), follow=True
    )
    task = Task.objects.get(name="Reminders")
    assert (task.status, task.scheduled_job_id) == (Task.STATUS_IDLE, "")
    assert not SchedulingBackend.jobs
    said = [str(m) for m in response.context["messages"]]
    assert (
        "Reminders has a schedule: it is booked when a user allowed to start tasks presses Start."
        in said
    )
    page = client.get(change_url(task)).content.decode()
    assert "Saving does not book the schedule" in page


@override_settings(EZTASKMANAGER=SCHEDULING)
def test_a_stopped_schedule_stays_stopped_when_only_the_arguments_change(client_as, task):
    target = task(
        scheduling=timezone.now() + timedelta(hours=1),
        repetition_period="hour",
        repetition_rate=1,
    )
    client = client_as("superuser")
    page = client.get(change_url(target))
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None
    }
    local = timezone.localtime(target.scheduling)
    data.update(
        name=target.name,
        command=str(target.command_id),
        arguments="--limit=2,--sleep=0",
        scheduling_0=local.strftime("%Y-%m-%d"),
        scheduling_1=local.strftime("%H:%M:%S"),
        **{"launchreport_set-TOTAL_FORMS": "0", "launchreport_set-INITIAL_FORMS": "0"},
    )
    data.pop("scheduling", None)
    response = client.post(change_url(target), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    target.refresh_from_db()
    assert (target.arguments, target.scheduled_job_id) == ("--limit=2,--sleep=0", "")
    assert not SchedulingBackend.jobs


# The form ------------------------------------------------------------------------------------
def test_the_add_form_has_no_empty_blocks_and_speaks_plainly(client_as, command):
    command()
    response = client_as("superuser").get(reverse("admin:eztaskmanager_task_add"))
    html = response.content.decode()
    assert ">Last execution</h2>" not in html and "launchreport_set" not in html
    assert "scheduled_job_id" not in html and "Scheduled job id" not in html
    assert ">Repeat every:</label>" in html
    assert '<option value="" selected>no repetition</option>' in html
    for word in ("minutes", "hours", "days", "weeks", "months"):
        assert f">{word}</option>" in html
    assert "MINUTE" not in html
    assert "Times are in the site's time zone, Europe/Rome." in html


def test_the_task_page_shows_the_status_in_words_and_no_job_id(client_as, task):
    target = task()
    target.arm_schedule("engine-handle-123", timezone.now() + timedelta(hours=1))
    html = client_as("superuser").get(change_url(target)).content.decode()
    assert 'class="eztm-status eztm-status-scheduled"' in html and ">Scheduled</span>" in html
    assert "engine-handle-123" not in html
    assert "SCHEDULED" not in html


# Filters -------------------------------------------------------------------------------------
def test_filters_say_words_and_offer_only_what_tasks_use(client_as, task, command):
    used = command()
    other = command("test_failing_command")
    command("collectcommands")  # no task uses it
    TaskCategory.objects.create(name="Unused")
    ops = TaskCategory.objects.create(name="Ops")
    task(name="a", command=used, category=ops)
    task(name="b", command=other, arguments="")
    html = client_as("superuser").get(CHANGELIST).content.decode()
    sidebar = html[html.index('id="changelist-filter"') :]
    assert "No category" in sidebar and ">Ops</a>" in sidebar and "Unused" not in sidebar
    assert "collectcommands" not in sidebar and used.name in sidebar
    for word in ("Idle", "Queued", "Scheduled", "Running", "Warnings", "Failed"):
        assert f">{word}</a>" in sidebar, word
    assert ">-</a>" not in sidebar and ">---</a>" not in sidebar


def test_the_used_filters_offer_only_what_the_admin_lets_the_user_see(rf, task, command):
    """A site's TaskAdmin that shows some tasks only offers the commands and categories
    of those (the filters ask the admin's own queryset)."""
    from django.contrib import admin

    from eztaskmanager_admin.filters import CategoryFilter, UsedRelatedFilter
    from eztaskmanager_admin.task_admin import TaskAdmin

    class OpsOnly(TaskAdmin):
        def get_queryset(self, request):
            return super().get_queryset(request).filter(category__name="Ops")

    shown, hidden = command(), command("test_failing_command")
    ops, other = TaskCategory.objects.create(name="Ops"), TaskCategory.objects.create(name="Dev")
    task(name="a", command=shown, category=ops)
    task(name="b", command=hidden, category=other, arguments="")
    request = rf.get(CHANGELIST)
    request.user = User.objects.create_superuser("root", "root@example.com", "pw")
    model_admin = OpsOnly(Task, admin.site)

    def choices(kind, name):
        field = Task._meta.get_field(name)
        return [
            label for _pk, label in kind(field, request, {}, Task, model_admin, name).lookup_choices
        ]

    assert choices(CategoryFilter, "category") == ["Ops"]
    assert choices(UsedRelatedFilter, "command") == [str(shown)]


def test_the_reports_filters_say_words(client_as, report):
    report()
    html = client_as("superuser").get(reverse("admin:eztaskmanager_launchreport_changelist"))
    sidebar = html.content.decode().split('id="changelist-filter"')[1]
    for word in ("Queued", "Running", "Stopping", "Finished", "OK", "Stopped"):
        assert f">{word}</a>" in sidebar, word
    assert ">---</a>" not in sidebar


# One clock -----------------------------------------------------------------------------------
@override_settings(TIME_ZONE="America/New_York")
def test_one_clock_the_sites_zone_in_lists_titles_and_fields(client_as, task, report):
    target = task(name="Clocked")
    run = report([("INFO", "x")], task=target)
    client = client_as("superuser")
    local = timezone.localtime(run.invocation_datetime)
    full = date_format(local, "DATETIME_FORMAT")
    page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
    html = page.content.decode()
    assert page.context["subtitle"] == f"Clocked · {full} · OK"
    assert f"Clocked · {full} · OK" in html.split('class="breadcrumbs"')[1].split("</div>")[0]
    assert "+00:00" not in html and " UTC" not in html
    listing = client.get(CHANGELIST).content.decode()
    assert f'title="{full}"' in listing  # the compact time, the full one on hover
    assert date_format(local, "TIME_FORMAT") in listing


# The report page -----------------------------------------------------------------------------
def test_the_report_page_shows_duration_result_counts_tail_and_the_viewer(client_as, report):
    run = report([("INFO", f"line {i}") for i in range(5)] + [("WARNING", "careful")])
    LaunchReport.objects.filter(pk=run.pk).update(
        finished_at=run.invocation_datetime + timedelta(seconds=75)
    )
    html = (
        client_as("superuser")
        .get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
        .content.decode()
    )
    assert "1 min 15 s" in html
    assert 'class="eztm-result eztm-result-warnings"' in html
    assert 'class="eztm-chip eztm-chip-warnings" title="1 warning">1<' in html
    assert "3 lines hidden ..." in html and " - WARNING - careful" in html
    viewer = reverse("admin:eztaskmanager_launchreport_log_viewer", args=[run.pk])
    assert f'href="{viewer}">Open the whole log</a>' in html


def test_every_report_list_has_a_duration(client_as, task, report):
    owner = task()
    run = report([("INFO", "x")], task=owner)
    LaunchReport.objects.filter(pk=run.pk).update(
        finished_at=run.invocation_datetime + timedelta(seconds=42)
    )
    client = client_as("superuser")
    reports = client.get(reverse("admin:eztaskmanager_launchreport_changelist")).content.decode()
    inline = client.get(change_url(owner)).content.decode()
    for html in (reports, inline):
        assert re.search(r">Duration\s*<", html) and ">42 s<" in html


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.4, "0.4 s"), (42, "42 s"), (185, "3 min 05 s"), (7800, "2 h 10 min"), (90000, "1 d 1 h")],
)
def test_durations_as_people_say_them(seconds, said):
    assert display.format_duration(timedelta(seconds=seconds)) == said


# History -------------------------------------------------------------------------------------
def test_the_task_page_charts_the_last_runs_each_bar_a_link_to_its_log(client_as, task, report):
    owner = task()
    runs = [report([("INFO", "x")], task=owner, invocation_result=r) for r in ("ok", "failed")]
    running = report(task=owner, finished=False)
    html = client_as("superuser").get(change_url(owner)).content.decode()
    chart = html[html.index('<svg class="eztm-chart"') :]
    chart = chart[: chart.index("</svg>")]
    links = re.findall(r'<a href="([^"]+)" data-report="(\d+)"', chart)
    assert [int(pk) for _url, pk in links] == [runs[0].pk, runs[1].pk, running.pk]
    assert links[0][0] == reverse("admin:eztaskmanager_launchreport_log_viewer", args=[runs[0].pk])
    live = reverse("admin:eztaskmanager_launchreport_live_log_viewer", args=[running.pk])
    assert links[2][0] == live
    assert "eztm-bar-ok" in chart and "eztm-bar-failed" in chart and "eztm-bar-running" in chart
    assert "3 runs, from" in html


def test_recent_runs_reads_the_last_few_of_each_task_in_one_query(
    task, report, django_assert_num_queries
):
    owners = [task(name=f"t{i}") for i in range(3)]
    for owner in owners:
        for _ in range(4):
            report([("INFO", "x")], task=owner)
    with django_assert_num_queries(1):
        runs = history.recent_runs([o.pk for o in owners], per_task=2)
    for owner in owners:
        newest = owner.launchreport_set.order_by("-invocation_datetime")[:2]
        assert [run.pk for run in runs[owner.pk]] == [report.pk for report in newest]


def test_a_sparkline_puts_the_newest_run_on_the_right():
    now = timezone.now()
    old = LaunchReport(pk=1, state="finished", invocation_result="ok", invocation_datetime=now)
    old.finished_at = now + timedelta(seconds=10)
    new = LaunchReport(pk=2, state="finished", invocation_result="errors", invocation_datetime=now)
    new.finished_at = now + timedelta(seconds=5)
    svg = str(history.sparkline([new, old], "admin"))
    xs = {css: int(x) for css, x in re.findall(r'class="eztm-bar (\S+)" x="(\d+)"', svg)}
    assert xs["eztm-bar-errors"] > xs["eztm-bar-ok"]
    assert xs["eztm-bar-errors"] == (history.SPARK_RUNS - 1) * 7  # the last slot
    heights = dict(
        re.findall(r'class="eztm-bar (\S+)" x="\d+" y="\d+" width="\d+" height="(\d+)"', svg)
    )
    assert int(heights["eztm-bar-ok"]) > int(heights["eztm-bar-errors"])  # 10 s against 5 s


# Pages that update themselves -----------------------------------------------------------------
def refresh_config(html: str) -> dict:
    found = re.search(
        r'<script id="eztm-refresh-config" type="application/json">(.*?)</script>', html
    )
    return json.loads(found.group(1))


def test_pages_say_when_they_need_refreshing(client_as, task, report):
    idle = task(name="idle")
    client = client_as("superuser")
    assert refresh_config(client.get(change_url(idle)).content.decode()) == {
        "active": False,
        "due": None,
    }
    running = task(name="running")
    run = start_run(running, "r-1")
    running.refresh_from_db()
    assert refresh_config(client.get(change_url(running)).content.decode())["active"] is True
    assert refresh_config(client.get(CHANGELIST).content.decode())["active"] is True
    page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
    assert refresh_config(page.content.decode())["active"] is True
    later = timezone.now() + timedelta(hours=1)
    idle.arm_schedule("job-1", later)
    due = refresh_config(client.get(change_url(idle)).content.decode())["due"]
    assert due == int(later.timestamp() * 1000)


def test_a_refresh_leaves_the_messages_for_the_next_page(client_as, task):
    target = task()
    client = client_as("superuser")
    client.post(reverse("admin:eztaskmanager_task_stop", args=[target.pk]))  # says something
    refreshed = client.get(change_url(target), headers={"X-EZTM-Refresh": "1"})
    assert "had nothing to stop" not in refreshed.content.decode()
    assert [str(m) for m in get_messages(refreshed.wsgi_request)] == [
        f"{target} had nothing to stop."
    ]
    assert "had nothing to stop" in client.get(change_url(target)).content.decode()


def test_the_parts_a_refresh_replaces_are_marked(client_as, task, report):
    owner = task()
    report([("INFO", "x")], task=owner)
    client = client_as("superuser")
    page = client.get(change_url(owner)).content.decode()
    for key in ("title-status", "start-tool", "stop-tool", "last-result", "history", "reports"):
        assert f'data-eztm-refresh="{key}"' in page, key
    listing = client.get(CHANGELIST).content.decode()
    for key in ("status", "result", "history", "buttons"):
        assert f'data-eztm-refresh="{key}-{owner.pk}"' in listing, key
    assert "eztaskmanager_admin/refresh.js" in page and "eztaskmanager_admin/refresh.js" in listing
