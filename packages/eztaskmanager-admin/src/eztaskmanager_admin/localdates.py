"""Django's date formats, read once for a page that writes many dates.

``date_format()`` looks its format up and parses it at every call, and the ``P`` and
``a`` of English formats ask gettext for ``a.m.``, ``noon`` or ``midnight`` each time: on
the task list's thousand run tooltips that was a quarter of the page. A
:class:`DateFormatter` parses its format once, and writes each piece of a date once per
day (the month, the day, the year) or per minute of the day (``4:35 p.m.``) it has seen,
with Django's own ``DateFormat``, so the text is the same as ``date_format()``'s.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.formats import get_format

# Format characters whose text depends on the day alone, or on the hour and minute alone;
# the others (seconds, microseconds, the zone, the whole timestamp) are written each time.
DAY_CHARS = frozenset("bdDEFjlLmMnNoStwWyYz")
MINUTE_CHARS = frozenset("aAfgGhHiP")


class DateFormatter:
    """One of the active language's formats (``"DATETIME_FORMAT"``), for local datetimes."""

    def __init__(self, format_name: str) -> None:
        # Literal text as a str, format characters as a 1-tuple.
        self._pieces: list[str | tuple[str]] = []
        for index, piece in enumerate(re_formatchars.split(str(get_format(format_name)))):
            if index % 2:
                self._pieces.append((piece,))
            elif piece:
                self._pieces.append(re_escaped.sub(r"\1", piece))
        self._texts: dict[tuple, str] = {}

    def __call__(self, local: datetime) -> str:
        """``local`` (a datetime already in the zone to show) in the format."""
        texts = self._texts
        written: DateFormat | None = None
        parts = []
        for piece in self._pieces:
            if type(piece) is str:
                parts.append(piece)
                continue
            char = piece[0]
            if char in DAY_CHARS:
                key: tuple | None = (char, local.year, local.month, local.day)
            elif char in MINUTE_CHARS:
                key = (char, local.hour, local.minute)
            else:
                key = None
            text = texts.get(key) if key is not None else None
            if text is None:
                written = written or DateFormat(local)
                text = str(getattr(written, char)())
                if key is not None:
                    texts[key] = text
            parts.append(text)
        return "".join(parts)
