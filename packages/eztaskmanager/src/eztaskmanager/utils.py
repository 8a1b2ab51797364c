"""Helpers that django-eztaskmanager 0.5 had in ``eztaskmanager.utils``, for code that used them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone


def format_local_dt(value: Any) -> str:
    """``2026-10-05 09:49:07 CEST``: an aware datetime in the current time zone, with its zone.

    A naive datetime is written as it is, without a zone; anything that is not a datetime
    (``None`` included) gives ``""``. Log lines are written this way (``Log.formatted()``).
    """
    if not isinstance(value, datetime):
        return ""
    if settings.USE_TZ and timezone.is_aware(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    return value.strftime("%Y-%m-%d %H:%M:%S")
