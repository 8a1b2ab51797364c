"""A real ``manage.py runserver``, a real ``manage.py rqworker`` and a real Redis, all on the
test database, and a plain HTTP client (the standard library's) to talk to the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any

import pytest

from testsupport.net import free_port, wait_for_port
from testsupport.processes import ManagedProcess

WORKER_CLASS = "eztaskmanager_rq.worker.Worker"


@pytest.fixture(scope="session")
def process_env(redis_url: str) -> dict[str, str]:
    """What the server and the worker need on top of the test process's environment."""
    return {
        "EZTASKMANAGER_USE_TEST_DB": "1",
        "EZTASKMANAGER_RQ_REDIS_URL": redis_url,
        "EZTASKMANAGER_RQ_QUEUE": f"eztm-api-{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture(scope="session")
def rq_worker(django_db_setup, process_env) -> Iterator[ManagedProcess]:
    worker = ManagedProcess.manage(
        "rqworker",
        process_env["EZTASKMANAGER_RQ_QUEUE"],
        "--worker-class",
        WORKER_CLASS,
        env=process_env,
    )
    try:
        worker.wait_for_output("Listening on", timeout=60)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def server(django_db_setup, process_env) -> Iterator[Server]:
    """``manage.py runserver --noreload`` on a free port, started once the test database exists."""
    port = free_port()
    process = ManagedProcess.manage("runserver", "--noreload", f"127.0.0.1:{port}", env=process_env)
    try:
        try:
            wait_for_port(port, timeout=60, process=process.process)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}; runserver said:\n{process.output[-3000:]}") from exc
        yield Server(f"http://127.0.0.1:{port}", process)
    finally:
        process.stop()


@dataclass
class Server:
    url: str
    process: ManagedProcess

    def client(self, key: str | None = None) -> Http:
        return Http(self.url, key)


class Http:
    """A JSON client over real HTTP (urllib): a Bearer key, or a session kept in cookies."""

    def __init__(self, base: str, key: str | None = None) -> None:
        self.base = base
        self.key = key
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        """(status, JSON document or None, headers) of a request to ``path`` (or a full URL)."""
        url = path if path.startswith("http") else f"{self.base}{path}"
        sent = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif method == "POST":
            data = b""
        if self.key:
            sent["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(url, data=data, headers=sent, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), error.headers
        document = None
        if got.get("Content-Type", "").startswith("application/json"):
            document = json.loads(raw)
        return status, document, got

    def get(self, path: str) -> tuple[int, Any, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any, Any]:
        return self.request("POST", path, body, **kwargs)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)


def issue_key(username: str) -> str:
    """A key issued as a user would: ``manage.py eztaskmanager_token create`` in a process."""
    done = subprocess.run(
        [sys.executable, "-m", "django", "eztaskmanager_token", "create", username],
        env={**os.environ, "EZTASKMANAGER_USE_TEST_DB": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
