"""The same admin flow on the RQ backend: a real Redis, a real ``manage.py rqworker``."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from eztaskmanager.models import AppCommand, LaunchReport, Task
from integration_tests.browser.said import started_or_queued
from testsupport.processes import ManagedProcess

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_watch_and_stop_a_run_on_an_rq_worker(rq_worker: ManagedProcess, page: Page):
    command = AppCommand.objects.create(
        name="browser_log_command", app_name="integration_tests.browser.logapp", active=True
    )
    task = Task.objects.create(
        name="RQ import", command=command, arguments="--lines=400, --sleep=0.05, --verbosity=2"
    )
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click("button.eztm-start")
    expect(page.locator(".messagelist")).to_contain_text(started_or_queued("RQ import"))

    deadline = time.monotonic() + 30
    while not LaunchReport.objects.filter(task=task).exists():
        assert time.monotonic() < deadline, f"no run on the worker:\n{rq_worker.output[-3000:]}"
        time.sleep(0.2)
    report = LaunchReport.objects.get(task=task)
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/live/")
    expect(page.locator("#eztm-status")).to_have_text("RUNNING")
    page.wait_for_function(
        "document.getElementById('eztm-loaded').textContent.replace(/\\D/g, '') > 40"
    )

    # Stop it from the task page while the viewer's tab keeps following the run.
    viewer = page
    admin = page.context.new_page()
    admin.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    admin.click("button.eztm-stop")
    expect(admin.locator(".messagelist")).to_contain_text("RQ import was stopped.")
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "stopped")
    expect(viewer.locator("#eztm-status")).to_have_text("STOPPED", timeout=10_000)
    expect(viewer.locator("#eztm-log-viewer")).to_have_attribute("data-state", "done")
    # Whichever stopped it first, the worker killing its work-horse or the run's own
    # thread, the reason says it was stopped.
    expect(viewer.locator("#eztm-reason")).to_have_text(report.reason)
    assert report.reason.startswith("Stopped"), report.reason
    viewer.fill("#eztm-search-input", "stop requested")
    expect(viewer.locator(".eztm-window .eztm-msg")).to_have_text(["Stop requested by admin."])
    assert report.n_log_lines < 400, "the run went on after Stop"
