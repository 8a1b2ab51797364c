"""What the admin's messages say, where the words depend on timing."""

from __future__ import annotations

import re


def started_or_queued(name: str) -> re.Pattern:
    """Start's message: started, or queued while no worker has taken the run yet."""
    return re.compile(
        rf"{re.escape(name)} was (started\.|queued: it starts when a worker takes it\.)"
    )
