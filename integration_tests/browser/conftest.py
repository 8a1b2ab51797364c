"""A real Chromium driven by Playwright, a logged-in admin, and screenshots to look at."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.browser.backend import SubprocessBackend

# Playwright's sync API keeps an event loop in this thread; the ORM calls of the test
# itself are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

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
def page(browser, live_server, admin_user) -> Iterator:
    """A page of a fresh browser context, logged in to the admin as a superuser."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()
    SubprocessBackend.stop_all()
    assert not errors, f"JavaScript errors in the page: {errors}"


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
