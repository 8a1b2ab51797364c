from datetime import timedelta

import pytest

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


FENCE = "```"
ZWSP = "\u200b"


def tail_text(**fields):
    blocks = build_message(notification(**fields))["attachments"][0]["blocks"]
    (tail,) = [b for b in blocks if b.get("text", {}).get("text", "").startswith(FENCE)]
    return tail["text"]["text"]


@pytest.mark.parametrize(
    "line",
    [
        "```",
        "before ``` after",
        "````quadruple````",
        "ends with a backtick `",
        "`starts with one",
        "``",
        "` ` `",
    ],
)
def test_backticks_in_the_log_never_close_the_code_block(line):
    text = tail_text(log_tail=["first", line])
    assert text.startswith(FENCE) and text.endswith(FENCE)
    inside = text[len(FENCE) : -len(FENCE)]
    # No two backticks touch inside, nor the fence: Slack sees exactly one block.
    assert "``" not in inside
    assert not inside.startswith("`") and not inside.endswith("`")
    # What a reader sees is the line itself (zero-width spaces are invisible).
    assert inside.replace(ZWSP, "") == f"first\n{line}"


def test_a_long_tail_full_of_backticks_stays_within_slack_limits():
    text = tail_text(log_tail=["`" * 5000])
    assert len(text) <= 3000
    assert "``" not in text[3:-3]


def test_the_command_and_arguments_the_run_ran_with_are_shown():
    blocks = build_message(notification(command="app: import", arguments='--title="a ``` b", -f'))[
        "attachments"
    ][0]["blocks"]
    ran = blocks[2]["text"]["text"]
    assert ran.startswith("*Command* `app: import`\n*Arguments*\n```")
    assert ran.count(FENCE) == 2  # the arguments' backticks are guarded too
    assert ran.replace(ZWSP, "").endswith('--title="a ``` b", -f```')


def test_long_arguments_are_cut_in_the_message():
    blocks = build_message(notification(command="app: import", arguments="x" * 5000))
    ran = blocks["attachments"][0]["blocks"][2]["text"]["text"]
    assert len(ran) < 1100 and ran.endswith("…```")
