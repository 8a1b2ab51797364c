"""Validators of task fields, referred to by migrations: keep their import paths."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The years a scheduling may fall in: queue engines count time from 1970, Python's dates
# end with 9999, and a day is left for any time zone to move a date across a year's end.
SCHEDULING_YEARS = (1970, 9998)


def is_scheduling_year(value: datetime) -> bool:
    return SCHEDULING_YEARS[0] <= value.year <= SCHEDULING_YEARS[1]


def validate_scheduling_year(value: datetime) -> None:
    """Refuse a date that time zones, queue engines or Python's dates cannot all hold."""
    if not is_scheduling_year(value):
        raise ValidationError(
            _("Choose a date between the years %(first)d and %(last)d."),
            code="scheduling_range",
            params={"first": SCHEDULING_YEARS[0], "last": SCHEDULING_YEARS[1]},
        )
