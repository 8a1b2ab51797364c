"""The live viewer of a big running log paints its end first, then fills in what came before."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from eztaskmanager.models import AppCommand, LaunchReport, Task
from integration_tests.browser.bigreport import fill_report

N_LINES = 300_000
pytestmark = pytest.mark.django_db(transaction=True)


def running_report(n_lines: int) -> LaunchReport:
    """A run that goes on, with ``n_lines`` lines written so far."""
    command = AppCommand.objects.create(
        name="collectcommands", app_name="eztaskmanager", active=True
    )
    task = Task.objects.create(name="Nightly import", command=command)
    report = LaunchReport.objects.create(task=task, state=LaunchReport.STATE_RUNNING)
    fill_report(report, n_lines)
    return report


def last_message(n: int) -> str:
    return f"Processing record {n - 1} of the nightly import"


def test_a_big_running_log_shows_its_end_at_once(page: Page):
    report = running_report(N_LINES)
    started = time.monotonic()
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/live/")
    expect(page.locator(".eztm-window .eztm-msg").last).to_have_text(last_message(N_LINES))
    at_end = time.monotonic() - started
    expect(page.locator("#eztm-loaded")).to_have_text(f"{N_LINES:,}", timeout=60_000)
    loaded = time.monotonic() - started
    # Figures to read, not verdicts: a loaded machine slows any page (no timed assertion).
    print(
        f"\nlive viewer, {N_LINES:,} lines: the last line on screen after {at_end:.2f} s, "
        f"every line loaded after {loaded:.2f} s"
    )


def test_the_end_comes_first_and_the_earlier_lines_fill_in_around_it(page: Page):
    report = running_report(25_000)
    asked: list[str] = []
    held: list[Route] = []

    def hold_the_beginning(route: Route) -> None:
        asked.append(route.request.url)
        offset = parse_qs(urlsplit(route.request.url).query).get("offset", ["-1"])[0]
        if 0 <= int(offset) < 24_500 and (not held or held[-1] is not None):
            held.append(route)  # the lines before the end wait until the test lets them go
        else:
            route.continue_()  # the end, and the new lines after it

    page.route("**/lines/*", hold_the_beginning)
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/live/")
    # The first request asks for the end of the log, and it is on screen at once.
    expect(page.locator(".eztm-window .eztm-msg").last).to_have_text(last_message(25_000))
    assert "tail=500" in asked[0]
    expect(page.locator(".eztm-window .eztm-no").last).to_have_text("25000")
    expect(page.locator("#eztm-loaded")).to_have_text("500")
    expect(page.locator("#eztm-loading")).to_be_visible()

    # The run goes on: its new lines are followed while the beginning still waits.
    report.append_log("ERROR", "Row 25000 could not be parsed")
    expect(page.locator(".eztm-window .eztm-msg").last).to_have_text(
        "Row 25000 could not be parsed"
    )
    expect(page.locator(".eztm-window .eztm-no").last).to_have_text("25001")

    # The user scrolls up to read: the beginning comes in pages meanwhile, and the line at
    # the top of the screen stays there, every line in its place.
    page.click("#eztm-sticky")
    page.evaluate("document.getElementById('eztm-lines').scrollTop = 0")
    expect(page.locator(".eztm-window .eztm-no").first).to_have_text("24501")
    release = held[:]
    held.append(None)  # from now on, nothing waits
    for route in release:
        route.continue_()
    expect(page.locator("#eztm-loaded")).to_have_text("25,001")
    expect(page.locator("#eztm-loading")).to_be_hidden()
    expect(page.locator(".eztm-window .eztm-no").first).to_have_text("24501")
    expect(page.locator(".eztm-window .eztm-msg").first).to_have_text(
        "Processing record 24500 of the nightly import"
    )
    page.click("#eztm-sticky")  # follow the end again
    expect(page.locator(".eztm-window .eztm-no").last).to_have_text("25001")
    expect(page.locator('.eztm-level[data-level="ERROR"] .eztm-count')).to_have_text("251")
    page.click('.eztm-level[data-level="ERROR"]')
    expect(page.locator("#eztm-shown")).to_have_text("251")
    page.click('.eztm-level[data-level="ALL"]')
    expect(page.locator("#eztm-shown")).to_have_text("25,001")
    page.click("#eztm-sticky")  # stop following the end, to read the beginning
    page.evaluate("document.getElementById('eztm-lines').scrollTop = 0")
    expect(page.locator(".eztm-window .eztm-no").first).to_have_text("1")
    expect(page.locator(".eztm-window .eztm-msg").first).to_have_text(
        "Processing record 0 of the nightly import"
    )

    # The run ends: its last line comes, and the viewer stops asking.
    report.finish(LaunchReport.RESULT_ERRORS, "Finished with errors.")
    expect(page.locator("#eztm-log-viewer")).to_have_attribute("data-state", "done")
    expect(page.locator("#eztm-loaded")).to_have_text("25,002")


def test_a_short_running_log_loads_as_before(page: Page):
    report = running_report(120)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/lines/" in r.url else None)
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/live/")
    expect(page.locator("#eztm-loaded")).to_have_text("120")
    expect(page.locator(".eztm-window .eztm-no").last).to_have_text("120")
    page.click("#eztm-sticky")
    page.evaluate("document.getElementById('eztm-lines').scrollTop = 0")
    expect(page.locator(".eztm-window .eztm-no").first).to_have_text("1")
    assert "tail=500" in asked[0]
    # The end request held the whole log: nothing before it to ask for.
    assert not any("offset=0&" in url for url in asked)


def test_a_failed_request_for_the_beginning_is_asked_again(page: Page):
    """A network blip while the lines before the end load: they are asked for again."""
    report = running_report(15_000)
    failed: list[str] = []

    def fail_the_first_page_once(route: Route) -> None:
        offset = parse_qs(urlsplit(route.request.url).query).get("offset", ["-1"])[0]
        if offset == "0" and not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/lines/*", fail_the_first_page_once)
    page.goto(f"/admin/eztaskmanager/launchreport/{report.pk}/log/live/")
    expect(page.locator(".eztm-window .eztm-msg").last).to_have_text(last_message(15_000))
    expect(page.locator("#eztm-loaded")).to_have_text("15,000")
    assert failed
    page.click("#eztm-sticky")
    page.evaluate("document.getElementById('eztm-lines').scrollTop = 0")
    expect(page.locator(".eztm-window .eztm-no").first).to_have_text("1")
