"""A protected task with a secret argument, in Chromium: Start leads to a confirmation
that names the command and shows the secret as ***, Confirm starts the run, whose command
gets the secret; the secret is never in a page's text."""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import expect

from eztaskmanager.models import AppCommand, LaunchReport, Task

APP = "integration_tests.browser.logapp"
SECRET = "Br0wser-S3cret-4f9a"
LIVE_URL = re.compile(r".*/admin/eztaskmanager/launchreport/(\d+)/log/live/$")
pytestmark = pytest.mark.django_db(transaction=True)


def assert_no_secret(page) -> None:
    assert SECRET not in page.content()


def test_a_protected_task_is_confirmed_and_its_secret_never_shown(open_admin, screenshot):
    command = AppCommand.objects.create(name="browser_secret_command", app_name=APP, active=True)
    task = Task.objects.create(
        name="Rotate the API keys",
        command=command,
        arguments="--lines=4, --sleep=0.2",
        secret_arguments=f"--token={SECRET}",
        protected=True,
    )
    page = open_admin(1366, 768)
    page.goto(f"/admin/eztaskmanager/task/{task.pk}/change/")
    # The form says a secret is set, with an empty box and a clear box; never the value.
    expect(page.locator(".eztm-secret-state")).to_contain_text("*** (set)")
    expect(page.locator("textarea[name=secret_arguments]")).to_have_value("")
    expect(page.locator("input[name=secret_arguments_clear]")).to_be_visible()
    expect(page.locator("input[name=protected]")).to_be_checked()
    assert_no_secret(page)
    screenshot(page.locator("fieldset.module").first, "secret-arguments-field")

    page.click(".object-tools button.eztm-start")
    page.wait_for_url(f"**/task/{task.pk}/start/confirm/**")
    expect(page.locator(".eztm-confirm-command")).to_have_text(f"{APP}: browser_secret_command")
    expect(page.locator(".eztm-confirm-arguments")).to_have_text("--lines=4, --sleep=0.2")
    expect(page.locator(".eztm-confirm-secret")).to_have_text("***")
    assert_no_secret(page)
    assert not LaunchReport.objects.filter(task=task).exists()  # nothing runs before Confirm
    screenshot(page, "protected-task-confirmation")

    page.click("input[name=confirm]")
    page.wait_for_url(LIVE_URL)
    run = LaunchReport.objects.get(pk=int(LIVE_URL.match(page.url).group(1)))
    assert run.task_id == task.pk
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    expect(page.locator(".eztm-window .eztm-msg", has_text=digest).first).to_be_visible(
        timeout=30_000
    )
    expect(page.locator(".eztm-window .eztm-msg", has_text="Finished")).to_be_visible(
        timeout=30_000
    )
    assert_no_secret(page)
    run.refresh_from_db()
    assert run.invocation_result == "ok"
    assert run.arguments == "--lines=4, --sleep=0.2"

    # Back on the task's page and its list: the run is there, the secret is not.
    for url in (
        f"/admin/eztaskmanager/task/{task.pk}/change/",
        "/admin/eztaskmanager/task/",
        f"/admin/eztaskmanager/task/{task.pk}/history/",
        f"/admin/eztaskmanager/launchreport/{run.pk}/change/",
    ):
        page.goto(url)
        assert_no_secret(page)
