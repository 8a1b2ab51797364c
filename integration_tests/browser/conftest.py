"""A real Chromium driven by Playwright, a logged-in admin, and screenshots to look at."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from integration_tests.browser.backend import SubprocessBackend

# Playwright's sync API keeps an event loop in this thread; the ORM calls of the test
# itself are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A run starts in a child process that imports Django first: seconds on a loaded 2-core
# machine. Waiting longer than Playwright's 5 s for a page to show it changes no verdict.
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "_static" / "screenshots"
PASSWORD = "browser-test-pw"


def chromium_executable(playwright) -> str:
    """Debian's Chromium (or ``EZTASKMANAGER_CHROMIUM``), else one on PATH, else Playwright's."""
    candidates = [os.environ.get("EZTASKMANAGER_CHROMIUM"), CHROMIUM]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    candidates.append(playwright.chromium.executable_path)  # after `playwright install chromium`
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "No Chromium for the browser tests: apt-get install chromium (Debian, Ubuntu), "
        "or python -m playwright install chromium, or set EZTASKMANAGER_CHROMIUM."
    )


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(playwright),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(django_db_setup) -> Iterator:
    """pytest-django's live server, started only once the test database exists.

    Started earlier, it sees the settings' ``:memory:`` SQLite name and shares the test
    thread's connection with its request threads, which crashes SQLite under load.
    """
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture
def admin_user(transactional_db):
    from django.contrib.auth.models import User

    return User.objects.create_superuser("admin", "admin@example.com", PASSWORD)


@pytest.fixture
def open_admin(browser, live_server, admin_user) -> Iterator:
    """``open_admin(width=1400, height=900, dark=False)``: a page of a fresh browser
    context, logged in to the admin as a superuser.

    The browser's clock is in the site's time zone, as a user's is who works where the
    site is (else the admin's forms say "You are N hours behind server time"). A
    JavaScript error in any page fails the test.
    """
    from django.conf import settings

    contexts = []
    errors: list[str] = []

    def make(width: int = 1400, height: int = 900, dark: bool = False):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            base_url=live_server.url,
            color_scheme="dark" if dark else "light",
            timezone_id=settings.TIME_ZONE,
        )
        contexts.append(context)
        context.set_default_timeout(15_000)
        context.on("weberror", lambda error: errors.append(str(error.error)))
        page = context.new_page()
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        return page

    yield make
    for context in contexts:
        context.close()
    SubprocessBackend.stop_all()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(open_admin):
    """A page logged in to the admin as a superuser, 1400 x 900, light theme."""
    return open_admin()


@pytest.fixture
def rq_worker(redis_url: str, django_db_setup) -> Iterator:
    """An RQ worker on a queue of its own, and the test process's settings pointing at it."""
    from django.test import override_settings

    from testsupport.processes import ManagedProcess

    queue = f"eztm-browser-{uuid.uuid4().hex[:8]}"
    env = {
        "EZTASKMANAGER_USE_TEST_DB": "1",
        "EZTASKMANAGER_RQ_REDIS_URL": redis_url,
        "EZTASKMANAGER_RQ_QUEUE": queue,
    }
    with override_settings(
        RQ_QUEUES={queue: {"URL": redis_url}},
        EZTASKMANAGER={"BACKEND": "rq", "OPTIONS": {"queue": queue}},
    ):
        worker = ManagedProcess.manage("rqworker", queue, env=env)
        try:
            worker.wait_for_output("Listening on", timeout=60)
            yield worker
        finally:
            worker.stop()


@pytest.fixture
def celery_worker(redis_url: str, django_db_setup) -> Iterator:
    """A Celery worker (prefork, one process) on a queue of its own, and the test
    process's settings sending runs to it."""
    import sys

    from celery import Celery
    from django.test import override_settings

    from testsupport.processes import ManagedProcess

    queue = f"eztm-browser-{uuid.uuid4().hex[:8]}"
    env = {"EZTASKMANAGER_USE_TEST_DB": "1", "EZTASKMANAGER_CELERY_BROKER_URL": redis_url}
    client = Celery("eztm_browser_tests", set_as_current=False)
    client.conf.broker_url = redis_url
    config = {"BACKEND": "celery", "OPTIONS": {"app": client, "queue": queue}}
    with override_settings(EZTASKMANAGER=config):
        worker = ManagedProcess(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "integration_tests.browser.celeryapp",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                f"--queues={queue}",
                f"--hostname=eztm-browser-{queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            env=env,
            cwd=str(ROOT),
        )
        try:
            worker.wait_for_output(" ready.", timeout=60)
            yield worker
        finally:
            worker.stop()
            client.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")``: save a PNG to test-output/screenshots.

    With ``EZTASKMANAGER_DOCS_SCREENSHOTS=1`` the PNG also replaces the documentation's
    copy, so that the docs show the admin as it is (and a plain test run leaves the
    working tree clean).
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    update_docs = os.environ.get("EZTASKMANAGER_DOCS_SCREENSHOTS") == "1"

    def take(page, name: str, **options) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **options)
        if update_docs:
            shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        return path

    return take
