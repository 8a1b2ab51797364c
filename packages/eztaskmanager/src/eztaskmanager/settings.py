"""``eztaskmanager.settings``, as django-eztaskmanager 0.5 had it: the flat settings' values.

``from eztaskmanager.settings import EZTASKMANAGER_N_LINES_IN_REPORT_LOG`` still gives the
value in effect, read from ``EZTASKMANAGER`` or from the flat setting (see
:mod:`eztaskmanager.conf`, where new code reads them), with 0.5's names.
"""

from __future__ import annotations

from typing import Any

from eztaskmanager import conf


def __getattr__(name: str) -> Any:
    key = conf.FLAT_SETTINGS.get(name)
    if key is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return conf.get_setting(key)


def __dir__() -> list[str]:
    return sorted([*globals(), *conf.FLAT_SETTINGS])
