"""A list page's dates, written once per day and minute, read as Django writes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from eztaskmanager_admin import display
from eztaskmanager_admin.localdates import DateFormatter

FORMATS = ["DATETIME_FORMAT", "SHORT_DATETIME_FORMAT", "TIME_FORMAT", "DATE_FORMAT"]


def moments() -> list[datetime]:
    """Every 7 minutes and 13 seconds over two days around a DST change in Rome, with
    midnight and noon, and repeats (the cache must give the text of the value, not the last)."""
    start = datetime(2026, 3, 28, 0, 0, tzinfo=ZoneInfo("UTC"))
    steps = [start + timedelta(seconds=433 * k) for k in range(400)]
    rome = ZoneInfo("Europe/Rome")
    exact = [datetime(2026, 3, 29, 0, 0, tzinfo=rome), datetime(2026, 3, 29, 12, 0, tzinfo=rome)]
    return steps + exact + steps[::-1]


@pytest.mark.parametrize("language", ["en", "de", "fr", "ja", "pt-br"])
@pytest.mark.parametrize("format_name", FORMATS)
def test_a_formatter_writes_what_date_format_writes(language, format_name):
    with translation.override(language), timezone.override("Europe/Rome"):
        formatter = DateFormatter(format_name)
        for moment in moments():
            local = timezone.localtime(moment)
            assert formatter(local) == date_format(local, format_name), (moment, language)


def test_the_page_texts_write_times_in_the_active_zone():
    moment = datetime(2026, 7, 1, 22, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override("en"), timezone.override("Asia/Tokyo"):
        texts = display.Texts(now=moment)
        assert texts.datetime(moment) == "July 2, 2026, 7:30 a.m."
        assert texts.compact(moment) == "7:30 a.m."  # today in Tokyo
        assert texts.compact(moment - timedelta(days=1)) == "07/01/2026 7:30 a.m."
        assert texts.datetime(None) == "-"
