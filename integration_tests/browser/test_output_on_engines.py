"""print() lands in the run's log the same way on RQ and on Celery: Start, then read it live.

A plain script turned command only prints; on a real worker of each engine, its lines are
the report's INFO lines (not the worker's terminal, not WARNING), and a clean run ends OK.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from eztaskmanager.models import AppCommand, LaunchReport, Task
from testsupport.processes import ManagedProcess

pytestmark = pytest.mark.django_db(transaction=True)

PRINTED = ["Reading 3 files", "File 1 done", "File 2 done", "File 3 done", "All files read"]


def start_and_read(page: Page, worker: ManagedProcess, engine: str) -> LaunchReport:
    command = AppCommand.objects.create(
        name="browser_print_command", app_name="integration_tests.browser.logapp", active=True
    )
    task = Task.objects.create(name=f"Read the files on {engine}", command=command)
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    page.click("button.eztm-start")
    page.wait_for_url(re.compile(r".*/log/live/$"))
    viewer = page.locator("#eztm-log-viewer")
    expect(viewer).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("#eztm-status")).to_have_text("OK")
    expect(page.locator(".eztm-window .eztm-msg")).to_have_text(PRINTED)
    assert set(page.locator(".eztm-window .eztm-lvl").all_inner_texts()) == {"INFO"}
    assert "File 2 done" not in worker.output, "printed to the worker's terminal"
    return LaunchReport.objects.get(task=task)


def test_print_lands_in_the_log_on_rq(rq_worker: ManagedProcess, page: Page):
    report = start_and_read(page, rq_worker, "RQ")
    assert (report.invocation_result, report.n_log_warnings) == ("ok", 0)


def test_print_lands_in_the_log_on_celery(celery_worker: ManagedProcess, page: Page, screenshot):
    report = start_and_read(page, celery_worker, "Celery")
    assert (report.invocation_result, report.n_log_warnings) == ("ok", 0)
    screenshot(page, "printed-lines")
