"""A small HTTP client for the Django admin: a cookie jar, CSRF tokens and form posts."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class AdminClient:
    """Talks to a running Django server as a browser would, without running JavaScript."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base_url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def get_json(self, path: str) -> dict[str, Any]:
        status, body = self.get(path)
        assert status == 200, f"GET {path}: {status}\n{body[:2000]}"
        return json.loads(body)

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        """POST a form with the CSRF token; return (status, body, final URL)."""
        form = {"csrfmiddlewaretoken": self.csrf_token(), **data}
        request = urllib.request.Request(
            self.base_url + path,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Referer": self.base_url + path},
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode(), response.url
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace"), exc.url

    def csrf_token(self) -> str:
        for cookie in self.cookies:
            if cookie.name == "csrftoken":
                return cookie.value
        raise AssertionError("no csrftoken cookie: GET a page with a form first")

    def login(self, username: str, password: str) -> None:
        status, body = self.get("/admin/login/")
        assert status == 200 and "csrfmiddlewaretoken" in body, body[:2000]
        status, body, url = self.post(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
        )
        assert status == 200 and url.endswith("/admin/"), f"login failed at {url}:\n{body[:2000]}"

    def object_ids(self, changelist: str, query: str = "") -> list[int]:
        """The pks linked from an admin changelist page (``app/model``), optionally filtered."""
        status, body = self.get(f"/admin/{changelist}/{query}")
        assert status == 200, f"{changelist}: {status}\n{body[:2000]}"
        found = re.findall(rf'href="/admin/{changelist}/(\d+)/', body)
        return sorted({int(pk) for pk in found})
