"""A loopback stand-in for Slack's Web API ``chat.postMessage``, answering as Slack does.

Known tokens and channels are accepted (``{"ok": true, "channel": ..., "ts": ...}``); a
wrong token gets ``invalid_auth``, an unknown channel ``channel_not_found`` (HTTP 200
with ``ok: false``, like Slack); ``rate_limit(seconds)`` makes the next call answer HTTP
429 with ``Retry-After``. Point slack_sdk at ``server.base_url``.
"""

from __future__ import annotations

import itertools
from typing import Any

from testsupport.httpserver import Answer, LoopbackHTTPServer, Recorded


class FakeSlackAPI(LoopbackHTTPServer):
    def __init__(self, tokens: tuple[str, ...] = ("xoxb-good",), channels=("#ops", "C0TEAM")):
        super().__init__(self.answer)
        self.tokens = set(tokens)
        self.channels = set(channels)
        self.rate_limits: list[int] = []
        self.messages: list[dict[str, Any]] = []  # accepted chat.postMessage payloads
        self._ts = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def rate_limit(self, *retry_after: int) -> None:
        """Answer the next calls with HTTP 429 and these ``Retry-After`` seconds."""
        self.rate_limits.extend(retry_after)

    def answer(self, request: Recorded) -> Answer:
        if request.path != "/api/chat.postMessage":
            return Answer(404, {"ok": False, "error": "unknown_method"})
        if self.rate_limits:
            seconds = self.rate_limits.pop(0)
            return Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(seconds)})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            return Answer(200, {"ok": False, "error": "not_authed"})
        if token not in self.tokens:
            return Answer(200, {"ok": False, "error": "invalid_auth"})
        payload = request.json
        if payload.get("channel") not in self.channels:
            return Answer(200, {"ok": False, "error": "channel_not_found"})
        self.messages.append(payload)
        ts = f"1700000000.{next(self._ts):06d}"
        return Answer(200, {"ok": True, "channel": payload["channel"], "ts": ts, "message": {}})
