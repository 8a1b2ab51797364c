"""Create a task in the admin, start it, and watch its log arrive live in the viewer."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from eztaskmanager.models import AppCommand, LaunchReport, Task, TaskCategory
from integration_tests.browser.logapp.management.commands.browser_log_command import (
    HOSTILE_LINES,
)
from integration_tests.browser.said import started_or_queued

APP = "integration_tests.browser.logapp"
pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_lines(task: Task, n_lines: int) -> LaunchReport:
    """The task's run, once it has written more than ``n_lines`` lines."""
    deadline = time.monotonic() + 30
    while not LaunchReport.objects.filter(task=task, n_log_lines__gt=n_lines).exists():
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.2)
    return LaunchReport.objects.get(task=task)


def count(page: Page, selector: str) -> int:
    return int(re.sub(r"\D", "", page.locator(selector).inner_text()) or 0)


def add_neighbours(command: AppCommand) -> None:
    """A few other tasks with finished runs, so the list shows every result colour."""
    reports = TaskCategory.objects.create(name="Reports")
    for name, level, result in [
        ("Weekly report", "INFO", "ok"),
        ("Cache warm-up", "WARNING", "warnings"),
        ("Legacy sync", "ERROR", "failed"),
        ("Search reindex", "INFO", "stopped"),
    ]:
        other = Task.objects.create(name=name, command=command, category=reports)
        report = LaunchReport.objects.create(task=other)
        report.append_log(level, f"{name} ran")
        report.finish(result)
        other.compute_cache()


def test_create_start_and_watch_a_run_live(page: Page, screenshot):
    AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)
    AppCommand.objects.create(name="collectcommands", app_name="eztaskmanager", active=False)

    # Commands: only active ones are offered for tasks; the detail page shows the full help.
    page.goto("/admin/eztaskmanager/appcommand/")
    row = page.locator("tr", has_text="browser_log_command")
    expect(row.locator("input[name$='-active']")).to_be_checked()
    row.locator("a").first.click()
    expect(page.locator("pre.eztm-help")).to_contain_text("--sleep SLEEP")
    screenshot(page, "command-detail")

    # Create the task through the admin form; bad arguments are refused first.
    page.goto("/admin/eztaskmanager/task/add/")
    page.fill("#id_name", "Nightly import")
    page.select_option("#id_command", label=f"{APP}: browser_log_command")
    page.fill("#id_arguments", "--lines=notanumber")
    page.fill("#id_note", "Imports the nightly records; <b>slow</b> on Mondays.")
    page.click("input[name=_continue]")
    expect(page.locator(".field-arguments .errorlist")).to_contain_text("invalid int value")
    page.fill("#id_arguments", "--lines=100, --sleep=0.1, --verbosity=2")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    task = Task.objects.get(name="Nightly import")
    assert task.args == ["--lines=100", "--sleep=0.1", "--verbosity=2"]

    # Start it from the task page: a POST from the Start button, the run in its own process
    # (queued until that process has started it); the page that comes back is its live log.
    page.click("button.eztm-start")
    page.wait_for_url("**/log/live/")
    expect(page.locator(".messagelist")).to_contain_text(started_or_queued("Nightly import"))

    # Lines arrive while the run goes on; the level buttons appear as their levels occur.
    expect(page.locator("#eztm-status")).to_have_text("RUNNING")
    expect(page.locator("#eztm-live")).to_be_visible()
    expect(page.locator('.eztm-level[data-level="WARNING"]')).to_be_visible(timeout=20_000)
    first = count(page, "#eztm-loaded")
    page.wait_for_function(
        f"document.getElementById('eztm-loaded').textContent.replace(/\\D/g, '') > {first}"
    )
    assert LaunchReport.objects.get(task=task).is_running
    screenshot(page, "live-log-viewer")

    # The run ends: polling stops with every line on the page, and the status says how it went.
    expect(page.locator("#eztm-log-viewer")).to_have_attribute("data-state", "done", timeout=30_000)
    report = LaunchReport.objects.get(task=task)
    assert report.invocation_result == "errors"
    expect(page.locator("#eztm-status")).to_have_text("ERRORS")
    expect(page.locator("#eztm-live")).to_be_hidden()
    assert count(page, "#eztm-loaded") == report.n_log_lines
    # Auto-scroll (on in the live viewer) kept the newest line in sight.
    expect(page.locator(".eztm-window .eztm-no").last).to_have_text(str(report.n_log_lines))
    assert page.locator(".eztm-window .eztm-no").last.is_visible()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_timeout(2500)
    assert not [url for url in requests if "/log/lines/" in url], "still polling after the end"

    # Hostile log text is shown as text and never runs.
    page.fill("#eztm-search-input", "eztmInjected")
    expect(page.locator(".eztm-window .eztm-msg")).to_have_text(list(HOSTILE_LINES))
    assert page.locator("#eztm-lines script, #eztm-lines img").count() == 0
    assert page.evaluate("window.__eztmInjected") is None
    page.click("#eztm-reset")

    # Filter by level: only the errors, with the count on the button.
    page.click('.eztm-level[data-level="ERROR"]')
    expect(page.locator('.eztm-level[data-level="ERROR"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    errors = report.n_log_errors
    assert count(page, '.eztm-level[data-level="ERROR"] .eztm-count') == errors == 9
    expect(page.locator("#eztm-shown")).to_have_text(str(errors))
    expect(page.locator(".eztm-window .eztm-line")).to_have_count(errors)
    assert set(page.locator(".eztm-window .eztm-lvl").all_inner_texts()) == {"ERROR"}

    # Search within the filtered lines, then reset every filter.
    page.fill("#eztm-search-input", "step 22 ")
    expect(page.locator("#eztm-shown")).to_have_text("1")
    expect(page.locator(".eztm-window .eztm-msg")).to_have_text(["Step 22 failed"])
    page.click("#eztm-reset")
    expect(page.locator("#eztm-shown")).to_have_text(f"{report.n_log_lines:,}")
    expect(page.locator('.eztm-level[data-level="ALL"]')).to_have_attribute("aria-pressed", "true")
    page.fill("#eztm-search-input", "progress 35/100")
    expect(page.locator(".eztm-window .eztm-msg")).to_have_text(["Progress 35/100"])

    # A message of several lines takes as many rows, all shown.
    page.fill("#eztm-search-input", "summary:")
    summary = page.locator(".eztm-window .eztm-line")
    expect(summary).to_have_count(1)
    expect(summary.locator(".eztm-msg")).to_have_text("Summary:\n  100 steps\n  done")
    box = summary.bounding_box()
    assert box and 50 <= box["height"] <= 60, box  # three rows of 18 px

    # Raw text: the seed's "timestamp - LEVEL - message" lines, without numbers or colours.
    page.fill("#eztm-search-input", "progress 35/100")
    expect(page.locator(".eztm-window .eztm-msg")).to_have_text(["Progress 35/100"])
    page.click("#eztm-raw")
    raw = page.locator(".eztm-window .eztm-text")
    expect(raw).to_have_count(1)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ - INFO - Progress 35/100", raw.inner_text()
    )
    page.click("#eztm-reset")
    # With auto-scroll on, the end of the log is in sight.
    expect(page.locator(".eztm-window .eztm-text").last).to_contain_text(" - INFO - Finished")
    page.click("#eztm-raw")

    # The task list: the last result in colour, linking to this run's log; note on hover.
    add_neighbours(task.command)
    page.goto("/admin/eztaskmanager/task/")
    result = page.locator("a.eztm-result-errors")
    expect(result).to_have_text("ERRORS")
    assert result.get_attribute("href") == f"/admin/eztaskmanager/launchreport/{report.pk}/log/"
    name = page.locator("tr", has_text="Nightly import").locator(".field-name_display .eztm-name")
    assert name.get_attribute("title") == "Imports the nightly records; <b>slow</b> on Mondays."

    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    expect(page.locator(".eztm-tail").first).to_contain_text("Finished")


def test_stop_a_running_task_from_the_list(page: Page):
    command = AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)
    task = Task.objects.create(name="Long import", command=command, arguments="--lines=600")
    page.goto("/admin/eztaskmanager/task/")
    page.locator("tr", has_text="Long import").locator("button.eztm-start").click()
    expect(page.locator(".messagelist")).to_contain_text(started_or_queued("Long import"))
    report = wait_for_lines(task, 3)
    page.goto("/admin/eztaskmanager/task/")
    # While it runs, Stop is the row's only button.
    row = page.locator("tr", has_text="Long import")
    expect(row.locator("button.eztm-start")).to_have_count(0)
    row.locator("button.eztm-stop").click()
    # The run's helper thread stops it within about a second: Stop waits that long.
    expect(page.locator(".messagelist")).to_contain_text("Long import was stopped.")
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "stopped")
    assert report.reason.startswith("Stopped after ")
    badge = page.locator("a.eztm-result-stopped")
    expect(badge).to_have_text("STOPPED")
    assert badge.get_attribute("title") == report.reason
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/")
    expect(page.locator("#eztm-status")).to_have_text("STOPPED")
    expect(page.locator("#eztm-reason")).to_have_text(report.reason)
    expect(page.locator(".eztm-msg").last).to_have_text(report.reason)
    page.fill("#eztm-search-input", "stop requested")
    expect(page.locator(".eztm-window .eztm-msg")).to_have_text(["Stop requested by admin."])


def test_a_run_that_takes_a_while_to_stop_shows_stopping_then_stopped(page: Page):
    """A command that cleans up for a few seconds when stopped: Stop says it is stopping,
    the pages show STOPPING, and STOPPED once the command has stopped."""
    command = AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)
    task = Task.objects.create(
        name="Careful export", command=command, arguments="--lines=600, --cleanup=10"
    )
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click("button.eztm-start")
    report = wait_for_lines(task, 3)
    viewer = page  # Start landed on the run's live log
    assert viewer.url.endswith(f"/launchreport/{report.pk}/log/live/")
    expect(viewer.locator("#eztm-status")).to_have_text("RUNNING")

    page = viewer.context.new_page()
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click("button.eztm-stop")
    # The viewer first: it must see STOPPING within the command's 10 s of clean-up.
    expect(viewer.locator("#eztm-status")).to_have_text("STOPPING")
    message = page.locator(".messagelist .warning")
    expect(message).to_have_text("Careful export is stopping.")
    expect(page.locator("#launchreport_set-group a.eztm-state-stopping")).to_have_text("STOPPING")

    expect(viewer.locator("#eztm-status")).to_have_text("STOPPED", timeout=45_000)
    expect(viewer.locator("#eztm-log-viewer")).to_have_attribute("data-state", "done")
    expect(viewer.locator("#eztm-reason")).to_contain_text("Stopped after")
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "stopped")
    messages = report.get_log_lines()
    assert any(line.endswith("Clean-up done") for line in messages), messages[-4:]
    page.reload()
    expect(page.locator("#launchreport_set-group a.eztm-result-stopped")).to_have_text("STOPPED")
