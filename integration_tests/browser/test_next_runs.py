"""The task's form shows its next runs as the scheduling fields change, before saving."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from eztaskmanager.models import AppCommand, Task

APP = "integration_tests.browser.logapp"
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_next_runs_follow_the_fields(open_admin, screenshot):
    AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)
    page = open_admin(1366, 900)
    page.goto("/admin/eztaskmanager/task/add/")
    runs = page.locator("#eztm-next-runs li")
    expect(page.locator("#eztm-next-runs")).to_contain_text("Start runs the task now")

    page.fill("#id_cron", "0 9 * * 1-5")
    expect(runs).to_have_count(5)
    texts = runs.all_inner_texts()
    assert all("9 a.m." in text and not text.startswith(("Saturday", "Sunday")) for text in texts)

    page.fill("#id_cron", "0 9 * *")
    expect(page.locator(".eztm-next-runs-error")).to_contain_text("Write five fields")
    expect(runs).to_have_count(0)

    # A repetition instead: from a first run set with the admin's Today link.
    page.fill("#id_cron", "")
    page.click("#id_scheduling_0 ~ .datetimeshortcuts a")  # Today
    page.fill("#id_scheduling_1", "23:30:00")
    page.fill("#id_repetition_rate", "6")
    page.select_option("#id_repetition_period", "hour")
    expect(runs).to_have_count(5)
    screenshot(page.locator("fieldset", has_text="Scheduling").first, "next-runs")

    # What the form showed is what is saved.
    page.fill("#id_name", "Every six hours")
    page.select_option("#id_command", label="integration_tests.browser.logapp: browser_log_command")
    page.click("input[name=_save]")
    task = Task.objects.get(name="Every six hours")
    assert (task.repetition_rate, task.repetition_period) == (6, "hour")
