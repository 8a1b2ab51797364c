"""The admin as people use it, in Chromium: from Start to the live log in one click, pages
that follow the run, only the buttons that fit, one clock, the report page, the history.

Each test also saves the screenshots the documentation shows (``screenshot``).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import Page, expect

from eztaskmanager.models import AppCommand, LaunchReport, ProcessHeartbeat, Task
from integration_tests.browser import sample
from integration_tests.browser.backend import SubprocessBackend
from integration_tests.browser.said import started_or_queued

APP = "integration_tests.browser.logapp"
LIVE_URL = re.compile(r".*/admin/eztaskmanager/launchreport/(\d+)/log/live/$")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def command(transactional_db) -> AppCommand:
    return AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)


@pytest.fixture(autouse=True)
def no_schedules():
    SubprocessBackend.schedules.clear()
    yield
    SubprocessBackend.schedules.clear()


def buttons(page: Page, scope: str = ".object-tools") -> list[str]:
    """The labels of the run buttons shown in ``scope``."""
    return page.locator(f"{scope} button.eztm-start, {scope} button.eztm-stop").all_inner_texts()


def run_of(page: Page) -> LaunchReport:
    """The report whose live log the page shows."""
    return LaunchReport.objects.get(pk=int(LIVE_URL.match(page.url).group(1)))


def test_start_lands_on_the_live_log_and_the_task_page_follows_the_run(
    open_admin, command: AppCommand, screenshot
):
    sample.add_history(command)  # other tasks, for the task list's screenshot
    task = Task.objects.create(
        name="Import the new arrivals",
        command=command,
        arguments="--lines=60, --sleep=0.1",
        note="The week's new books, from the publishers' feeds.",
    )
    page = open_admin(1366, 768)
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    assert buttons(page) == ["START"]  # idle: nothing to stop (upper case by the admin's CSS)

    # One click: the live log of the run it started, saying what Start did.
    page.click("button.eztm-start")
    page.wait_for_url(LIVE_URL)
    run = run_of(page)
    assert run.task_id == task.pk
    expect(page.locator(".messagelist")).to_contain_text(started_or_queued(task.name))
    expect(page.locator("#eztm-live")).to_be_visible()
    expect(page.locator(".eztm-window .eztm-msg").first).to_be_visible(timeout=20_000)
    screenshot(page, "start-lands-on-live-log")

    # The task page, opened while the run goes on, follows it without a reload.
    task_page = page.context.new_page()
    task_page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    expect(task_page.locator("h2.eztm-subtitle .eztm-status")).to_have_text("Running")
    assert buttons(task_page) == ["STOP"]
    expect(task_page.locator("#launchreport_set-group a.eztm-state-running")).to_be_visible()
    task_page.evaluate("window.__eztmSamePage = true")  # gone if the page were reloaded
    expect(task_page.locator("h2.eztm-subtitle .eztm-status")).to_have_text("Idle", timeout=30_000)
    expect(task_page.locator(".object-tools button.eztm-start")).to_be_visible()
    assert buttons(task_page) == ["START"]
    run.refresh_from_db()
    result = task_page.locator(".fieldBox.field-last_result_field a.eztm-result")
    expect(result).to_have_text(run.get_invocation_result_display())
    expect(task_page.locator("#launchreport_set-group .eztm-result").first).to_have_text(
        run.get_invocation_result_display()
    )
    assert task_page.evaluate("window.__eztmSamePage") is True

    # The history chart: a bar for the run, linking to its log.
    bar = task_page.locator(f'svg.eztm-chart a[data-report="{run.pk}"]')
    expect(bar).to_have_count(1)
    assert bar.get_attribute("href") == f"/admin/eztaskmanager/launchreport/{run.pk}/log/"
    bar.click()
    task_page.wait_for_url(f"**/launchreport/{run.pk}/log/")
    expect(task_page.locator("#eztm-status")).to_have_text(run.get_invocation_result_display())

    # A task with a longer history, for the documentation, light and dark.
    nightly = Task.objects.get(name="Nightly import of the library catalogue")
    for dark in (False, True):
        shown = open_admin(1366, 768, dark=dark)
        shown.goto(f"/admin/eztaskmanager/task/{nightly.pk}/change/")
        expect(shown.locator("svg.eztm-chart a")).to_have_count(8)
        screenshot(shown, "task-detail-dark" if dark else "task-detail", full_page=True)


def test_start_from_the_list_lands_on_the_live_log_and_the_list_follows(
    open_admin, command: AppCommand
):
    task = Task.objects.create(name="Quick count", command=command, arguments="--lines=30")
    page = open_admin(1366, 768)
    page.goto("/admin/eztaskmanager/task/")
    row = page.locator("tr", has_text="Quick count")
    assert buttons(page, "tr:has-text('Quick count')") == ["Start"]
    row.locator("button.eztm-start").click()
    page.wait_for_url(LIVE_URL)
    run = run_of(page)

    listing = page.context.new_page()
    listing.goto("/admin/eztaskmanager/task/")
    row = listing.locator("tr", has_text="Quick count")
    expect(row.locator(".eztm-status")).to_have_text("Running")
    assert row.locator(".eztm-status").get_attribute("href") == (
        f"/admin/eztaskmanager/launchreport/{run.pk}/log/live/"
    )
    assert buttons(listing, "tr:has-text('Quick count')") == ["Stop"]
    expect(row.locator(".eztm-status")).to_have_text("Idle", timeout=30_000)
    expect(row.locator("button.eztm-start")).to_be_visible()
    expect(row.locator(f'svg.eztm-sparkline a[data-report="{run.pk}"]')).to_have_count(1)
    expect(row.locator(".field-last_result_display a.eztm-result")).to_be_visible()
    assert Task.objects.get(pk=task.pk).status == Task.STATUS_IDLE


def test_a_schedule_is_booked_on_save_and_the_buttons_follow_the_state(
    open_admin, command: AppCommand
):
    page = open_admin(1366, 768)
    page.goto("/admin/eztaskmanager/task/add/")
    expect(page.locator("fieldset", has_text="Last execution")).to_have_count(0)
    expect(page.locator("#launchreport_set-group")).to_have_count(0)
    page.fill("#id_name", "Hourly digest")
    page.select_option("#id_command", label=f"{APP}: browser_log_command")
    first = timezone.localtime(timezone.now() + timedelta(hours=2)).replace(second=0)
    page.fill("#id_scheduling_0", first.strftime("%Y-%m-%d"))
    page.fill("#id_scheduling_1", first.strftime("%H:%M:%S"))
    page.fill("#id_repetition_rate", "1")
    page.select_option("#id_repetition_period", label="hours")
    expect(page.locator(".timezonewarning")).to_have_count(0)  # one clock: the browser's
    page.click("input[name=_continue]")
    task = Task.objects.get(name="Hourly digest")
    when = date_format(first, "DATETIME_FORMAT")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Hourly digest is scheduled; next run: {when}."
    )
    assert task.status == Task.STATUS_SCHEDULED and SubprocessBackend.schedules
    expect(page.locator("h2.eztm-subtitle .eztm-status")).to_have_text("Scheduled")
    expect(page.locator(".field-next_run_display .readonly")).to_have_text(when)
    assert buttons(page) == ["START", "STOP"]

    page.click("button.eztm-stop")
    expect(page.locator(".messagelist")).to_contain_text("Hourly digest's schedule was cancelled.")
    expect(page.locator("h2.eztm-subtitle .eztm-status")).to_have_text("Idle")
    assert buttons(page) == ["START"]
    assert not SubprocessBackend.schedules


@override_settings(TIME_ZONE="America/New_York")
def test_one_clock_in_messages_titles_lists_and_fields(open_admin, command: AppCommand):
    """The site's time zone everywhere, in the local format: a zone far from the server's
    and the database's (UTC) shows any place that forgot to convert."""
    task = sample.add_scheduled(command, name="Remind the readers", arm=False)
    page = open_admin(1366, 768)
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click("button.eztm-start")  # books the schedule again: the message says when
    task.refresh_from_db()
    when = date_format(timezone.localtime(task.cached_next_ride), "DATETIME_FORMAT")
    expect(page.locator(".messagelist")).to_contain_text(f"next run: {when}.")
    expect(page.locator(".field-next_run_display .readonly")).to_have_text(when)
    page.goto("/admin/eztaskmanager/task/")
    next_run = page.locator("tr", has_text="Remind the readers").locator("time.eztm-when")
    assert next_run.get_attribute("title") == when

    [report] = sample.add_history(command)["Cache warm-up"].launchreport_set.all()[:1]
    started = date_format(timezone.localtime(report.invocation_datetime), "DATETIME_FORMAT")
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/change/")
    title = f"Cache warm-up · {started} · {report.get_invocation_result_display()}"
    expect(page.locator("#content h2").first).to_have_text(title)
    expect(page.locator(".breadcrumbs")).to_contain_text(title)
    expect(page.locator(".fieldBox.field-started_at .readonly")).to_have_text(started)
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/")
    expect(page.locator(".eztm-header")).to_contain_text(started)
    for url in (f"/admin/eztaskmanager/task/{task.pk}/change/", "/admin/eztaskmanager/task/"):
        page.goto(url)
        assert "+00:00" not in page.content()
        expect(page.locator(".timezonewarning")).to_have_count(0)


def test_the_list_says_so_when_its_history_bars_cannot_come(open_admin, command: AppCommand):
    sample.add_history(command)
    page = open_admin(1366, 768)
    page.route(re.compile(r".*/task/history/\?ids=.*"), lambda route: route.fulfill(status=503))
    page.goto("/admin/eztaskmanager/task/")
    expect(page.locator("html")).to_have_attribute("data-eztm-bars", "failed")
    cell = page.locator("tr", has_text="Nightly import").locator(".eztm-sparkline-failed")
    expect(cell).to_have_attribute("title", "HTTP 503")
    expect(page.locator("svg.eztm-sparkline")).to_have_count(0)
    # The rest of the list is there: a failed picture takes nothing else with it.
    expect(page.locator("tr", has_text="Nightly import").locator("a.eztm-result")).to_be_visible()


def test_a_refresh_that_comes_before_the_bars_keeps_its_bars(open_admin, command: AppCommand):
    """While a run goes on the list refreshes itself every 2 s, and a refresh draws the
    bars in place; bars that arrive after it leave them as they are."""
    import time

    sample.add_history(command)
    running = sample.add_running(command)
    page = open_admin(1366, 768)

    def late(route):  # the bars' answer comes after the list's first refresh
        time.sleep(4.5)
        route.continue_()

    page.route(re.compile(r".*/task/history/\?ids=.*"), late)
    page.goto("/admin/eztaskmanager/task/")
    expect(page.locator("html")).to_have_attribute("data-eztm-bars", "shown", timeout=20_000)
    assert int(page.locator("html").get_attribute("data-eztm-refreshed") or 0) >= 1
    ran = Task.objects.filter(launchreport__isnull=False).distinct().count()
    expect(page.locator("svg.eztm-sparkline")).to_have_count(ran)
    expect(page.locator("[data-eztm-history]")).to_have_count(0)
    row = page.locator("tr", has_text=running.task.name)
    expect(row.locator(f'svg.eztm-sparkline a[data-report="{running.pk}"]')).to_have_count(1)


def test_the_report_page(open_admin, command: AppCommand, screenshot):
    tasks = sample.add_history(command)
    report = tasks["Weekly newsletter to every subscriber"].launchreport_set.order_by(
        "-invocation_datetime"
    )[0]
    for dark in (False, True):
        page = open_admin(1366, 768, dark=dark)
        page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/change/")
        expect(page.locator(".fieldBox.field-result_display .eztm-result-errors")).to_have_text(
            "ERRORS"
        )
        expect(page.locator(".fieldBox.field-duration_display .readonly")).to_have_text("19 s")
        expect(page.locator(".field-counts_display .eztm-chip-errors")).to_have_text("9")
        expect(page.locator(".field-counts_display .eztm-chip-warnings")).to_have_text("4")
        tail = page.locator(".field-log_tail_display pre.eztm-tail")
        expect(tail).to_contain_text("ERROR - Record 8 was refused by the server")
        expect(tail).to_contain_text("lines hidden")
        screenshot(page, "report-detail-dark" if dark else "report-detail", full_page=True)
    page.click("text=Open the whole log")
    page.wait_for_url(f"**/launchreport/{report.pk}/log/")
    expect(page.locator("#eztm-status")).to_have_text("ERRORS")


LAYOUT = """(selector) => {
  const table = document.querySelector(selector);
  const results = table.closest('.results');
  const width = document.documentElement.clientWidth;
  const sidebar = document.getElementById('nav-sidebar');
  const cells = [...table.querySelectorAll('thead th, tbody tr:first-child td')];
  return {
    width: width,
    page: document.documentElement.scrollWidth,
    hidden: results.scrollWidth - results.clientWidth,
    sidebar: sidebar ? sidebar.getBoundingClientRect().width : 0,
    outside: cells.filter(c => c.getBoundingClientRect().right > width + 0.5).map(c => c.className),
    columns: [...table.querySelectorAll('thead th')].map(
      th => (th.querySelector('.text') || th).innerText.trim()),
  };
}"""


def assert_fits(page: Page, columns: list[str]) -> dict:
    """Every column of the list is in the viewport: nothing scrolls sideways."""
    layout = page.evaluate(LAYOUT, "#result_list")
    assert layout["columns"] == columns, layout
    assert layout["hidden"] <= 0 and layout["page"] <= layout["width"], layout
    assert not layout["outside"], layout
    return layout


@pytest.mark.parametrize(
    ("width", "height", "dark", "name"),
    [
        (1366, 768, False, "task-list"),
        (1366, 768, True, "task-list-dark"),
        (1920, 1080, False, "task-list-wide"),
    ],
)
def test_the_lists_fit_a_laptop_with_the_sidebar_open(
    open_admin, command: AppCommand, screenshot, width, height, dark, name
):
    # The widest dates, whatever the time of day: last runs yesterday, the next one tomorrow
    # (a list of today's times only fitted, and broke from 23:35 when the next run is tomorrow).
    now = timezone.now()
    sample.add_history(command, now=now - timedelta(days=1))
    sample.add_scheduled(command, first=now + timedelta(days=1))
    sample.add_running(command)
    Task.objects.create(name="A task nobody has run yet", command=command)
    page = open_admin(width, height, dark=dark)
    page.goto("/admin/eztaskmanager/task/")
    # The history bars come after the page (history.js), one request for all its rows.
    expect(page.locator("html")).to_have_attribute("data-eztm-bars", "shown")
    expect(page.locator("[data-eztm-history]")).to_have_count(0)
    ran = Task.objects.filter(launchreport__isnull=False).distinct().count()
    expect(page.locator("svg.eztm-sparkline")).to_have_count(ran)
    layout = assert_fits(page, ["", "NAME", "STATUS", "LAST RUN", "HISTORY", "RUN"])
    assert layout["sidebar"] > 200, "the navigation sidebar is open"
    # Names take at most two lines; the command and category go under them.
    name_cell = page.locator("tr", has_text="Nightly import").locator(".eztm-title")
    assert name_cell.bounding_box()["height"] <= 2 * 20 + 1
    screenshot(page, name)

    page.goto("/admin/eztaskmanager/launchreport/")
    assert_fits(page, ["", "TASK", "RESULT", "STARTED", "DURATION", "STARTED BY", "LOG"])
    if name == "task-list":
        screenshot(page, "reports-list")

    for kind, name_, host in (
        ("worker", "rq:worker:4f1c2a9b8e7d4c3b9a1f0e2d3c4b5a69", "web-01.example.internal"),
        ("scheduler", "rqscheduler-web-01.example.internal-4242", "web-01.example.internal"),
        ("worker", "celery@web-02.example.internal", "web-02.example.internal"),
    ):
        ProcessHeartbeat.beat("rq" if "rq" in name_ else "celery", kind, name_, host, 4242)
    page.goto("/admin/eztaskmanager/processheartbeat/")
    assert_fits(page, ["", "NAME", "KIND", "LAST SEEN", "ALIVE"])
