"""Django's date formats, read once for a page that writes many dates.

``date_format()`` looks its format up and parses it at every call, and the ``P`` and
``a`` of English formats ask gettext for ``a.m.``, ``noon`` or ``midnight`` each time: on
the task list's thousand run tooltips that was a quarter of the page. A
:class:`DateFormatter` parses its format once, and writes each piece of a date once per
day (the month, the day, the year) or per minute of the day (``4:35 p.m.``) it has seen,
with Django's own ``DateFormat``, so the text is the same as ``date_format()``'s; a whole
date once per minute when its format has no second or zone in it (most formats).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.formats import get_format

# Format characters whose text depends on the day alone, or on the hour and minute alone;
# the others (seconds, microseconds, the zone, the whole timestamp) are written each time.
DAY_CHARS = frozenset("bdDEFjlLmMnNoStwWyYz")
MINUTE_CHARS = frozenset("aAfgGhHiP")


class Writer(DateFormat):
    """Django's ``DateFormat``, whose ``a`` and ``A`` ask gettext once for the morning and
    once for the afternoon: ``P`` asks at each minute of the day."""

    def __init__(self, obj: datetime) -> None:
        super().__init__(obj)
        self._halves: dict[tuple[str, bool], str] = {}

    def a(self) -> str:
        return self._half("a", super().a)

    def A(self) -> str:
        return self._half("A", super().A)

    def _half(self, char: str, write: Callable[[], str]) -> str:
        key = (char, self.data.hour > 11)
        if key not in self._halves:
            self._halves[key] = write()
        return self._halves[key]


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
        # Formats of days and minutes alone (most): whole texts, once per minute.
        self._whole: dict[tuple, str] | None = None
        if all(
            type(piece) is str or piece[0] in DAY_CHARS | MINUTE_CHARS for piece in self._pieces
        ):
            self._whole = {}
        # The writer of the day and minute pieces, pointed at each value in turn: they read
        # the value alone (the zone pieces read the zone DateFormat() works out, so those get
        # a DateFormat of their own).
        self._writer = Writer(datetime(2000, 1, 1))

    def __call__(self, local: datetime) -> str:
        """``local`` (a datetime already in the zone to show) in the format."""
        if self._whole is None:
            return self._write(local)
        minute = (local.year, local.month, local.day, local.hour, local.minute)
        text = self._whole.get(minute)
        if text is None:
            text = self._whole[minute] = self._write(local)
        return text

    def _write(self, local: datetime) -> str:
        texts = self._texts
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
            if key is None:
                text = str(getattr(DateFormat(local), char)())
            else:
                text = texts.get(key)
                if text is None:
                    self._writer.data = local
                    text = texts[key] = str(getattr(self._writer, char)())
            parts.append(text)
        return "".join(parts)
