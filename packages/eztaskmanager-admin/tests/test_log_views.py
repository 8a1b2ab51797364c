"""The log viewer pages and their JSON endpoint (seed contract), and escaping."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from eztaskmanager.models import Log
from eztaskmanager.models.logs import format_line, format_time, read_lines, read_rows, text_lines
from eztaskmanager_admin import logreader


def lines_url(report_id: int, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("eztaskmanager:ajax_read_log_lines", args=[report_id]) + f"?{query}"


def test_the_json_endpoint_answers_the_seed_contract(client_as, report):
    target = report([("INFO", "first"), ("WARNING", "second"), ("ERROR", "third")])
    data = client_as("permitted").get(lines_url(target.pk, offset=0)).json()
    assert data["log_size"] == 3
    assert data["task_status"] == "idle"
    assert [line["message"] for line in data["new_log_lines"]] == ["first", "second", "third"]
    assert [line["level"] for line in data["new_log_lines"]] == ["INFO", "WARNING", "ERROR"]
    assert all(line["timestamp"] for line in data["new_log_lines"])
    assert data["finished"] is True and data["state"] == "finished"
    assert data["result"] == "errors" and data["reason"] == ""
    assert data["page_level_counts"] == {"INFO": 1, "WARNING": 1, "ERROR": 1}
    assert (data["n_log_errors"], data["n_log_warnings"]) == (1, 1)


def test_offset_log_size_minus_one_gives_the_last_line(client_as, report):
    target = report([("INFO", f"line {i}") for i in range(5)])
    client = client_as("permitted")
    data = client.get(lines_url(target.pk, offset=4)).json()
    assert [line["message"] for line in data["new_log_lines"]] == ["line 4"]
    assert client.get(lines_url(target.pk, offset=5)).json()["new_log_lines"] == []


@pytest.mark.parametrize(("limit", "page"), [("", 1000), ("10", 100), ("500", 500)])
def test_long_logs_come_in_pages_of_1000_lines_or_the_size_asked(client_as, report, limit, page):
    target = report([("DEBUG", f"line {i}") for i in range(2500)])
    client = client_as("permitted")
    seen, offset = [], 0
    while True:
        data = client.get(lines_url(target.pk, offset=offset, limit=limit)).json()
        if not data["new_log_lines"]:
            break
        assert len(data["new_log_lines"]) == min(page, 2500 - offset)  # 10 -> at least 100
        seen += [line["message"] for line in data["new_log_lines"]]
        offset += len(data["new_log_lines"])
        assert data["next_offset"] == offset
    assert seen == [f"line {i}" for i in range(2500)]
    big = client.get(lines_url(target.pk, offset=0, limit=100000)).json()
    assert len(big["new_log_lines"]) == 2500  # capped at MAX_PAGE_SIZE, above 2500


TRICKY = [
    ("INFO", 'quotes " and \\ backslashes'),
    ("WARNING", "two\nlines\tand a tab, \x00 a NUL and \u2028"),
    ("ERROR", "</script><script>alert(1)</script>"),
    ("DEBUG", "àccents, 漢字 and 🎉"),
    ("CRITICAL", ""),
    ("CUSTOM", "a level of its own"),
]


def test_the_compact_page_holds_what_the_seed_page_holds(client_as, report):
    target = report(TRICKY)
    client = client_as("permitted")
    full = client.get(lines_url(target.pk, offset=0)).json()
    compact = client.get(lines_url(target.pk, offset=0, compact=1)).json()
    assert [list(line.values()) for line in full["new_log_lines"]] == compact["new_log_lines"]
    assert list(full["new_log_lines"][0]) == ["line", "timestamp", "level", "message"]
    full.pop("new_log_lines"), compact.pop("new_log_lines")
    assert full == compact


def test_every_message_comes_back_as_it_was_written(client_as, report, settings):
    target = report(TRICKY)
    response = client_as("permitted").get(lines_url(target.pk, offset=0))
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    # PostgreSQL text cannot hold NUL: the core writes U+FFFD in its place.
    nul = "\ufffd" if connection.vendor == "postgresql" else "\x00"
    written = [(level, message.replace("\x00", nul)) for level, message in TRICKY]
    assert [(line["level"], line["message"]) for line in data["new_log_lines"]] == written
    assert [line["line"] for line in data["new_log_lines"]] == list(range(len(TRICKY)))
    assert data["page_level_counts"] == {level: 1 for level, _message in TRICKY}


@pytest.mark.parametrize("zone", ["Europe/Rome", "America/New_York", "UTC", "Asia/Kolkata"])
def test_times_read_as_text_are_those_of_the_one_line_format(report, settings, zone):
    settings.TIME_ZONE = zone
    target = report([("INFO", "placeholder")])
    # Lines a few milliseconds apart and across seconds, days and a daylight-saving change.
    stamps = [
        datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=dt_timezone.utc),
        datetime(2026, 3, 29, 1, 0, 0, tzinfo=dt_timezone.utc),
        datetime(2026, 3, 29, 1, 0, 0, 5_000, tzinfo=dt_timezone.utc),
        datetime(2026, 10, 25, 0, 30, 0, 1, tzinfo=dt_timezone.utc),
        datetime(2026, 10, 25, 1, 30, 0, tzinfo=dt_timezone.utc),
        datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=dt_timezone.utc),
    ]
    Log.objects.filter(launch_report=target).delete()
    Log.objects.bulk_create(
        Log(launch_report=target, line=n, timestamp=stamp, level="INFO", message=f"m{n}")
        for n, stamp in enumerate(stamps)
    )
    with timezone.override(zone):
        lines = read_lines(target.pk, 0, len(stamps))
        expected = [
            (n, format_time(stamp), level, message)
            for n, stamp, level, message in read_rows(target.pk, 0, len(stamps))
        ]
        assert lines == expected
        assert [stamp for _n, stamp, _l, _m in lines] == [format_time(s) for s in stamps]
        assert text_lines(target.pk, 0, len(stamps)) == [
            format_line(s, "INFO", f"m{n}") for n, s in enumerate(stamps)
        ]


def test_a_page_is_read_by_keyset_with_the_same_queries_at_any_offset(report):
    target = report([("INFO", f"line {i}") for i in range(3000)])
    plans = []
    for offset in (0, 1500, 2999):
        with CaptureQueriesContext(connection) as queries:
            page = logreader.read_page(target.pk, offset)
        assert page["new_log_lines"][0]["message"] == f"line {offset}"
        sql = [q["sql"] for q in queries.captured_queries]
        assert len(sql) == 2
        assert "OFFSET" not in sql[1].upper()
        # A bounded range: one page is read whatever plan the database picks.
        assert re.search(r'"line" >= \d+ AND .*"line" < \d+', sql[1])
        plans.append(re.sub(r"([<>]=?) \d+", r"\1 N", sql[1]))
    assert len(set(plans)) == 1


@pytest.mark.parametrize("offset", ["abc", "1.5"])
def test_a_bad_offset_is_a_400(client_as, report, offset):
    target = report()
    assert client_as("permitted").get(lines_url(target.pk, offset=offset)).status_code == 400


@pytest.mark.parametrize(("tail", "first"), [("300", 2200), ("5000", 0), ("1", 2400), ("-3", 2400)])
def test_tail_gives_the_last_lines_and_where_they_begin(client_as, report, tail, first):
    """What a viewer that follows a run asks for first: the end (a page at most, 100 at least)."""
    target = report([("DEBUG", f"line {i}") for i in range(2500)])
    data = client_as("permitted").get(lines_url(target.pk, tail=tail, compact=1)).json()
    assert data["offset"] == first and data["next_offset"] == data["log_size"] == 2500
    assert [line[0] for line in data["new_log_lines"]] == list(range(first, 2500))
    assert data["new_log_lines"][-1][3] == "line 2499"


def test_tail_wins_over_offset_and_limit(client_as, report):
    target = report([("INFO", f"line {i}") for i in range(400)])
    data = client_as("permitted").get(lines_url(target.pk, tail=100, offset=7, limit=10)).json()
    assert (data["offset"], len(data["new_log_lines"])) == (300, 100)


def test_tail_of_an_empty_log_is_empty(client_as, report):
    target = report([])
    data = client_as("permitted").get(lines_url(target.pk, tail=500)).json()
    assert (data["offset"], data["log_size"], data["new_log_lines"]) == (0, 0, [])


@pytest.mark.parametrize("tail", ["abc", "", "2e3"])
def test_a_bad_tail_is_a_400(client_as, report, tail):
    target = report()
    response = client_as("permitted").get(lines_url(target.pk, tail=tail))
    assert response.status_code == 400
    assert "tail" in response.json()["error"]


def test_tail_needs_the_same_permission(client_as, report):
    target = report([("INFO", "secret")])
    assert client_as("staff").get(lines_url(target.pk, tail=100)).status_code == 403
    assert client_as("anonymous").get(lines_url(target.pk, tail=100)).status_code == 403


def test_a_missing_report_is_a_404(client_as, db):
    client = client_as("superuser")
    assert client.get(lines_url(999, offset=0)).status_code == 404
    assert client.get(reverse("eztaskmanager:log_viewer", args=[999])).status_code == 404


def test_the_viewer_page_escapes_everything_it_shows(client_as, task, report):
    owner = task(name="<b>bold</b>", arguments="--limit=3,--sleep=0")
    target = report([("ERROR", "<script>alert(1)</script>")], task=owner)
    page = client_as("permitted").get(reverse("eztaskmanager:log_viewer", args=[target.pk]))
    html = page.content.decode()
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" not in html  # lines are loaded by script, as text
    assert "<li><code>--limit=3</code></li>" in html  # arguments one per line
    assert 'id="eztm-log-config"' in html


def test_the_live_viewer_polls_and_the_static_one_does_not(client_as, report):
    target = report()
    client = client_as("permitted")
    live = client.get(reverse("eztaskmanager:live_log_viewer", args=[target.pk]))
    static = client.get(reverse("eztaskmanager:log_viewer", args=[target.pk]))
    assert live.context["viewer_config"]["live"] is True
    assert static.context["viewer_config"]["live"] is False
    json_url = reverse("eztaskmanager:ajax_read_log_lines", args=[target.pk])
    assert live.context["viewer_config"]["linesUrl"] == json_url
    admin_page = client.get(
        reverse("admin:eztaskmanager_launchreport_log_viewer", args=[target.pk])
    )
    assert admin_page.context["viewer_config"]["linesUrl"] == reverse(
        "admin:eztaskmanager_launchreport_ajax_read_log_lines", args=[target.pk]
    )


def test_a_running_report_links_to_its_live_view(client_as, report):
    target = report(finished=False)
    page = client_as("permitted").get(reverse("eztaskmanager:log_viewer", args=[target.pk]))
    assert reverse("eztaskmanager:live_log_viewer", args=[target.pk]) in page.content.decode()


def test_the_raw_text_view_streams_plain_text(client_as, report):
    target = report([("INFO", "one"), ("ERROR", "<script>x</script>")])
    response = client_as("permitted").get(reverse("eztaskmanager:log_text", args=[target.pk]))
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Content-Type-Options"] == "nosniff"
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].endswith(" - INFO - one")
    assert text.splitlines()[1].endswith(" - ERROR - <script>x</script>")


@pytest.mark.parametrize("state", ["queued", "running", "stopping"])
def test_the_json_endpoint_says_the_state_of_a_run_that_has_not_ended(client_as, report, state):
    target = report([("INFO", "working")], finished=False, state=state)
    data = client_as("permitted").get(lines_url(target.pk, offset=0)).json()
    assert (data["state"], data["finished"], data["result"]) == (state, False, "")
    assert data["task_status"] and data["log_size"] == 1  # the seed's keys stay


def test_the_json_endpoint_and_the_viewer_say_why_a_run_ended(client_as, report):
    target = report([("INFO", "working")], finished=False)
    target.finish("stopped", "Stopped after 2.0 s.")
    client = client_as("permitted")
    data = client.get(lines_url(target.pk, offset=0)).json()
    assert (data["state"], data["result"], data["reason"]) == (
        "finished",
        "stopped",
        "Stopped after 2.0 s.",
    )
    assert data["new_log_lines"][-1]["message"] == "Stopped after 2.0 s."
    html = client.get(reverse("eztaskmanager:log_viewer", args=[target.pk])).content.decode()
    assert '<dd id="eztm-reason">Stopped after 2.0 s.</dd>' in html
    assert 'class="eztm-status eztm-result eztm-result-stopped">STOPPED<' in html


@pytest.mark.parametrize("state", ["queued", "running", "stopping"])
def test_the_viewer_shows_the_state_of_a_run_that_has_not_ended(client_as, report, state):
    target = report(finished=False, state=state)
    page = client_as("permitted").get(reverse("eztaskmanager:log_viewer", args=[target.pk]))
    html = page.content.decode()
    assert f'eztm-state-{state}">{state.upper()}<' in html
    assert reverse("eztaskmanager:live_log_viewer", args=[target.pk]) in html
    assert page.context["viewer_config"]["finished"] is False
    assert '<dd id="eztm-reason" hidden></dd>' in html
