"""The bars a command reports, live in the log viewer: a tree, percentages, time left."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eztaskmanager.models import AppCommand, LaunchReport, Task

APP = "integration_tests.browser.logapp"
LIVE_URL = re.compile(r".*/admin/eztaskmanager/launchreport/(\d+)/log/live/$")
pytestmark = pytest.mark.django_db(transaction=True)


def test_progress_bars_follow_the_run(open_admin, screenshot):
    command = AppCommand.objects.create(name="browser_log_command", app_name=APP, active=True)
    task = Task.objects.create(
        name="Rebuild the index", command=command, arguments="--lines=25, --sleep=0.2"
    )
    page = open_admin(1366, 768)
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click("button.eztm-start")
    page.wait_for_url(LIVE_URL)

    bars = page.locator("#eztm-bars .eztm-bar")
    expect(page.locator("#eztm-bars")).to_be_visible(timeout=20_000)
    # While it runs: the run's bar, its blocks under it, a share and the time left.
    expect(bars.first.locator(".eztm-bar-label")).to_have_text("Steps")
    expect(bars.first.locator(".eztm-bar-figures")).to_contain_text("left", timeout=10_000)
    expect(page.locator("#eztm-bars .eztm-bar", has_text="block 1")).to_be_visible()
    depth = page.locator("#eztm-bars .eztm-bar", has_text="block 1").evaluate(
        "row => getComputedStyle(row).getPropertyValue('--eztm-depth')"
    )
    assert depth.strip() == "1"
    screenshot(page, "progress-bars")

    # At its end: every bar full.
    expect(page.locator("#eztm-status")).not_to_have_text(
        re.compile("RUNNING|QUEUED"), timeout=30_000
    )
    expect(bars.first.locator(".eztm-bar-figures")).to_have_text("100% (25/25) · done")
    expect(bars).to_have_count(4)  # Steps, and blocks 1-3
    run = LaunchReport.objects.get(task=task)
    assert [bar["group"] for bar in run.progress["bars"]][:2] == [["Steps"], ["Steps", "block 1"]]
