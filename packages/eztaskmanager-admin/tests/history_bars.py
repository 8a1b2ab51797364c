"""The task list's history bars as a browser gets them: the page's placeholders, then
one request to the bars' URL (``history.js`` does the same)."""

from __future__ import annotations

import re

from django.test import Client

PLACEHOLDER = re.compile(r'data-eztm-history="(\d+)"')
SOURCE = re.compile(r'id="eztm-history" data-url="([^"]+)"')


def placeholders(html: str) -> list[str]:
    """The task ids whose bars the page leaves to ``history.js``, in the page's order."""
    return PLACEHOLDER.findall(html)


def bars_of_page(client: Client, html: str) -> dict[str, str]:
    """Each task id of the page with its bars' markup, asked for as ``history.js`` asks."""
    ids = placeholders(html)
    if not ids:
        return {}
    url = SOURCE.search(html).group(1).replace("&amp;", "&")
    response = client.get(url, {"ids": ",".join(ids)})
    assert response.status_code == 200, response.content
    return response.json()["bars"]
