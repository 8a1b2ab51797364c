"""Run now with... in Chromium: from the task's page, other arguments for one run, checked
by the command's parser, then the run's live log; the task keeps its own arguments."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eztaskmanager.models import AppCommand, LaunchReport, Task

APP = "integration_tests.browser.logapp"
LIVE_URL = re.compile(r".*/admin/eztaskmanager/launchreport/(\d+)/log/live/$")
pytestmark = pytest.mark.django_db(transaction=True)


def test_run_now_with_other_arguments(open_admin, screenshot):
    command = AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)
    task = Task.objects.create(
        name="Import the new arrivals", command=command, arguments="--lines=60, --sleep=0.1"
    )
    page = open_admin(1366, 768)
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click(".object-tools a.eztm-run-with")
    page.wait_for_url(f"**/task/{task.pk}/run-with/")
    arguments = page.locator("textarea[name=arguments]")
    expect(arguments).to_have_value("--lines=60, --sleep=0.1")
    # The command's own help is at hand; a value its parser refuses is a form error.
    page.locator("details.eztm-usage summary").click()
    expect(page.locator("details.eztm-usage pre")).to_contain_text("--lines LINES")
    arguments.fill("--lines=many")
    page.click("input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("invalid int value: 'many'")
    assert not LaunchReport.objects.filter(task=task).exists()
    arguments.fill("--lines=3, --sleep=0")
    screenshot(page, "run-now-with")
    page.click("input[type=submit]")

    page.wait_for_url(LIVE_URL)
    run = LaunchReport.objects.get(pk=int(LIVE_URL.match(page.url).group(1)))
    assert (run.task_id, run.arguments, run.custom_arguments) == (
        task.pk,
        "--lines=3, --sleep=0",
        True,
    )
    expect(page.locator(".eztm-window .eztm-msg").first).to_be_visible(timeout=20_000)
    task.refresh_from_db()
    assert task.arguments == "--lines=60, --sleep=0.1"
