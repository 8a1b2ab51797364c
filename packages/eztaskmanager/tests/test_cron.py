"""Cron expressions: a third kind of schedule, on the site's wall clock, DST-correct."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from eztaskmanager.registry import get_backend
from eztaskmanager.scheduling import next_cron_run_after

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
ROME = ZoneInfo("Europe/Rome")  # the test settings' TIME_ZONE


def runs(expression, after, n=4, start=None):
    found = []
    for _ in range(n):
        after = next_cron_run_after(expression, start or after, after)
        found.append(after.isoformat())
    return found


def test_weekdays_at_nine_on_the_sites_clock_across_a_change_of_time():
    friday = datetime(2026, 3, 27, 10, 0, tzinfo=ROME)
    assert runs("0 9 * * 1-5", friday) == [
        "2026-03-30T09:00:00+02:00",  # Monday, after the change to summer time
        "2026-03-31T09:00:00+02:00",
        "2026-04-01T09:00:00+02:00",
        "2026-04-02T09:00:00+02:00",
    ]


def test_a_time_skipped_by_the_change_runs_after_the_gap_and_a_repeated_one_once():
    assert runs("30 2 * * *", datetime(2026, 3, 28, 3, 0, tzinfo=ROME), n=2) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert runs("30 2 * * *", datetime(2026, 10, 24, 3, 0, tzinfo=ROME), n=2) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_the_first_run_is_not_before_the_first_scheduling():
    start = datetime(2026, 6, 10, 12, 0, tzinfo=ROME)
    earlier = datetime(2026, 6, 1, 0, 0, tzinfo=ROME)
    assert next_cron_run_after("0 * * * *", start, earlier).isoformat() == (
        "2026-06-10T12:00:00+02:00"
    )


def test_a_task_with_a_cron_expression_is_periodic_and_needs_no_first_run(task):
    t = task(LIVE, cron="*/15 * * * *")
    t.full_clean()
    assert (t.is_periodic, t.is_scheduled_later(), t.interval_in_seconds) == (True, True, None)
    now = timezone.now()
    due = t.next_run_after(now)
    assert due > now and due.minute % 15 == 0 and due.second == 0
    assert due - now <= timedelta(minutes=15)


@pytest.mark.parametrize(
    ("cron", "fields", "message"),
    [
        ("* * *", {}, "Write five fields"),
        ("* * * * * *", {}, "Write five fields"),
        ("61 * * * *", {}, "out of range"),
        ("x y z a b", {}, "not acceptable"),
        ("0 9 * * *", {"repetition_period": "hour", "repetition_rate": 1}, "not both"),
    ],
)
def test_a_bad_cron_expression_is_a_validation_error(task, cron, fields, message):
    t = task(LIVE)
    t.cron = cron
    for name, value in fields.items():
        setattr(t, name, value)
    with pytest.raises(ValidationError) as caught:
        t.full_clean()
    assert message in " ".join(caught.value.message_dict["cron"])


def test_start_books_the_next_cron_time(task, settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    t = task(LIVE, cron="0 3 * * *")
    get_backend().add(t)
    t.refresh_from_db()
    local = timezone.localtime(t.cached_next_ride, ROME)
    assert (t.status, local.hour, local.minute) == ("scheduled", 3, 0)
    assert t.cached_next_ride - timezone.now() <= timedelta(days=1)
