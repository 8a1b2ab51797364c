from datetime import timedelta

from eztaskmanager.services.notifications import Notification
from eztaskmanager_slack.message import MAX_SECTION_TEXT, RESULT_COLORS, build_message


def notification(**fields):
    values = {
        "task_name": "nightly import",
        "result": "errors",
        "n_errors": 2,
        "n_warnings": 1,
        "duration": timedelta(seconds=75),
        "log_tail": ["line 1", "line 2"],
        "url": "https://tm.example.com/logs/7/",
    }
    return Notification(**{**values, **fields})


def test_colour_per_result():
    for result, colour in RESULT_COLORS.items():
        (attachment,) = build_message(notification(result=result))["attachments"]
        assert attachment["color"] == colour
    assert len(set(RESULT_COLORS.values())) == 5


def test_text_fallback_and_blocks():
    message = build_message(notification())
    assert message["text"] == "[ERRORS] nightly import: errors: 2, warnings: 1, duration: 1m 15s"
    title, fields, tail, actions = message["attachments"][0]["blocks"]
    assert title["text"]["text"] == ":red_circle: *nightly import*: ERRORS"
    assert [f["text"] for f in fields["fields"]] == [
        "*Result*\nERRORS",
        "*Duration*\n1m 15s",
        "*Errors*\n2",
        "*Warnings*\n1",
    ]
    assert tail["text"]["text"] == "```line 1\nline 2```"
    assert actions["elements"][0]["url"] == "https://tm.example.com/logs/7/"


def test_no_link_and_no_tail_means_no_blocks_for_them():
    blocks = build_message(notification(url=None, log_tail=[]))["attachments"][0]["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section"]


def test_markup_in_names_and_lines_is_escaped():
    message = build_message(notification(task_name="<!channel> & co", log_tail=["a <b> c"]))
    blocks = message["attachments"][0]["blocks"]
    assert "&lt;!channel&gt; &amp; co" in blocks[0]["text"]["text"]
    assert "<!channel>" not in message["text"]
    assert blocks[2]["text"]["text"] == "```a &lt;b&gt; c```"


def test_a_long_tail_keeps_its_end_within_slack_limits():
    lines = [f"line {i} " + "x" * 100 for i in range(200)]
    tail = build_message(notification(log_tail=lines))["attachments"][0]["blocks"][2]
    assert len(tail["text"]["text"]) <= 3000
    assert tail["text"]["text"].endswith("line 199 " + "x" * 100 + "```")
    assert len(tail["text"]["text"]) == MAX_SECTION_TEXT + 6


def test_why_the_run_ended_has_a_section_of_its_own():
    message = build_message(
        notification(result="failed", reason="Worker lost: no heartbeat for 75 s (<w1>).")
    )
    reason = message["attachments"][0]["blocks"][2]
    assert reason["text"]["text"] == "Worker lost: no heartbeat for 75 s (&lt;w1&gt;)."
