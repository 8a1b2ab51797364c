"""The quick start's demo, run as a user runs it: start, log in, start a task, Ctrl-C.

The demo script runs in a subprocess with its own data folder and a free port, and
starts its own Redis (REDIS_URL is removed so the fresh-machine path is the one tested).
Its database is its own SQLite file; on the suite's PostgreSQL run, a new PostgreSQL
database reached through the POSTGRES_* variables that docker-compose.yml sets.
Everything is checked from outside: the admin over HTTP, the processes through /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.demo.client import AdminClient
from integration_tests.demo.proc import descendants, running
from testsupport.net import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO_SCRIPT = ROOT / "scripts" / "demo.py"

PROCESSES = {
    "rq": {"redis", "rqworker", "rqscheduler", "web"},
    "celery": {"redis", "worker", "beat", "web"},
}

pytestmark = pytest.mark.integration


class RunningDemo:
    """One run of ``scripts/demo.py``, and every process it started."""

    def __init__(self, backend: str, data_dir: Path, database_env: dict[str, str]) -> None:
        self.port = free_port()
        # The environment of a user's shell: no REDIS_URL (the demo starts its own Redis)
        # and none of this suite's Django settings.
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "EZTASKMANAGER_DEMO_BACKEND")
        }
        env.update(database_env)
        self.uses_postgres = bool(database_env)
        args = [sys.executable, str(DEMO_SCRIPT), "--backend", backend, "--port", str(self.port)]
        self.log_path = data_dir.parent / f"demo-{backend}-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*args, "--data-dir", str(data_dir)],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pids: set[int] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_until_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "The demo is ready" not in self.output:
            if not self.alive() or time.monotonic() > deadline:
                raise AssertionError(f"the demo did not get ready:\n{self.output[-6000:]}")
            time.sleep(0.2)
        self.pids = descendants(self.process.pid)

    def started(self) -> dict[str, int]:
        """``{name: pid}`` of the processes the demo says it started."""
        found = re.findall(r"^Started (\S+) \(pid (\d+)\)", self.output, re.MULTILINE)
        return {name: int(pid) for name, pid in found}

    def restarted(self) -> dict[str, int]:
        """``{name: pid}`` of the processes the demo started again after they exited."""
        found = re.findall(r"^Restarted (\S+) \(pid (\d+)", self.output, re.MULTILINE)
        return {name: int(pid) for name, pid in found}

    def interrupt(self, timeout: float = 90) -> int:
        """Send SIGINT as Ctrl-C would; return the demo's exit code."""
        os.kill(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=timeout)
        return self.process.returncode

    def kill(self) -> None:
        """Last resort after a failed test: kill the demo and every process it started."""
        for pid in {
            self.process.pid,
            *self.pids,
            *self.started().values(),
            *self.restarted().values(),
        }:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def demo_database() -> Iterator[dict[str, str]]:
    """The demo's database settings: its own SQLite file, or on the PostgreSQL run of the
    suite a new PostgreSQL database, through the POSTGRES_* switch docker-compose uses."""
    if os.environ.get("EZTASKMANAGER_TEST_DB") != "postgres":
        yield {}
        return
    import psycopg

    name = f"eztm_demo_{os.getpid()}_{free_port()}"
    server = {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "password": os.environ.get("PGPASSWORD", ""),
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "POSTGRES_HOST": server["host"],
            "POSTGRES_PORT": server["port"],
            "POSTGRES_USER": server["user"],
            "POSTGRES_PASSWORD": server["password"],
            "POSTGRES_DB": name,
        }
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def run_demo(tmp_path, demo_database):
    """Factory of demo runs on one data folder; whatever is left running is stopped."""
    runs: list[RunningDemo] = []

    def start(backend: str) -> RunningDemo:
        demo = RunningDemo(backend, tmp_path / "demo-data", demo_database)
        runs.append(demo)
        demo.wait_until_ready()
        return demo

    yield start
    for demo in runs:
        if demo.alive():
            demo.kill()


TASKS = "/admin/eztaskmanager/task/"


# What the admin says after each button, as the how-to guide lists it: a run is queued
# until a worker takes it, and a stop may still be going on when the page answers.
SAID = {"start": ("was started.", "was queued"), "stop": ("was stopped.", "is stopping.")}


def press(client: AdminClient, button: str, name: str) -> int:
    """Press Start or Stop on the task called ``name``, as in the task list; return its id."""
    [task_id] = client.object_ids("eztaskmanager/task", f"?q={name.replace(' ', '+')}")
    status, body, _url = client.post(f"{TASKS}{task_id}/{button}/", {"next": TASKS})
    assert status == 200, body[:2000]
    assert any(f"{name} {words}" in body for words in SAID[button]), body[:4000]
    return task_id


def wait_for_report(
    demo: RunningDemo, client: AdminClient, task_id: int, until, timeout: float = 60
) -> dict:
    """Poll the task's last report's JSON (the live viewer's) until ``until(page)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reports = client.object_ids("eztaskmanager/launchreport", f"?task__id__exact={task_id}")
        if reports:
            page = client.get_json(f"/eztaskmanager/ajax_read_log_lines/{reports[-1]}/?offset=0")
            if until(page):
                return page
        time.sleep(0.3)
    raise AssertionError(
        f"the run of task {task_id} did not get there within {timeout} s; the demo said:\n"
        f"{demo.output[-6000:]}"
    )


def start_task_and_wait(demo: RunningDemo, client: AdminClient, name: str) -> dict:
    """Press Start on the task called ``name``; return its report's JSON once finished."""
    task_id = press(client, "start", name)
    return wait_for_report(demo, client, task_id, lambda page: page["finished"])


def assert_all_stopped(demo: RunningDemo, code: int) -> None:
    output = demo.output
    assert code == 0, output[-4000:]
    assert "Every process of the demo has stopped." in output
    started = demo.started()
    # The checks below must look at real processes: the demo's children and theirs.
    assert started and set(started.values()) <= demo.pids, (started, demo.pids)
    every = demo.pids | set(started.values()) | set(demo.restarted().values())
    left = sorted(pid for pid in every if running(pid))
    assert not left, f"still running after Ctrl-C: {left}\n{output[-4000:]}"


@pytest.mark.parametrize("backend", ["rq", "celery"])
def test_demo_starts_runs_a_task_and_stops_every_process(backend, run_demo):
    demo = run_demo(backend)
    assert set(demo.started()) == PROCESSES[backend], demo.output[-4000:]
    assert "Admin login: admin / admin (created)" in demo.output
    assert f"{demo.base_url}/admin/" in demo.output
    [database] = re.findall(r"Database: (.+)\.$", demo.output, re.MULTILINE)
    if demo.uses_postgres:
        assert database.startswith("PostgreSQL eztm_demo_"), database
    else:
        assert database.endswith("demo-data/db.sqlite3"), database

    client = AdminClient(demo.base_url)
    client.login("admin", "admin")
    page = start_task_and_wait(demo, client, "Quick check")
    assert page["result"] == "ok", page
    messages = [line["message"] for line in page["new_log_lines"]]
    assert messages[0] == "Start" and messages[-1] == "Finished", messages

    # The long task, stopped while it runs: the tutorial says its report ends STOPPED.
    task_id = press(client, "start", "Live logging with warnings and errors")
    wait_for_report(demo, client, task_id, lambda page: page["log_size"] >= 3)
    press(client, "stop", "Live logging with warnings and errors")
    page = wait_for_report(demo, client, task_id, lambda page: page["finished"], timeout=30)
    assert page["result"] == "stopped", page
    messages = [line["message"] for line in page["new_log_lines"]]
    assert "Stop requested by admin." in messages, messages[-3:]
    # "Stopped after 2.1 s." when the run's own thread stopped it, or the engine's words
    # ("Stopped: the worker killed its work-horse.") when the engine was quicker.
    assert page["reason"].startswith("Stopped"), page["reason"]
    assert messages[-1] == page["reason"], messages[-3:]

    # A scheduler that dies (rqscheduler exits when Redis goes away) is started again.
    scheduler = {"rq": "rqscheduler", "celery": "beat"}[backend]
    os.killpg(demo.started()[scheduler], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while scheduler not in demo.restarted():
        assert time.monotonic() < deadline, demo.output[-4000:]
        time.sleep(0.2)
    assert re.search(
        rf"^{scheduler} \(pid \d+\) exited with -9; restarting it in 1 s$",
        demo.output,
        re.MULTILINE,
    )
    assert running(demo.restarted()[scheduler])

    assert_all_stopped(demo, demo.interrupt())


def test_demo_runs_twice_on_the_same_data(run_demo):
    first = run_demo("rq")
    assert "5 sample tasks created." in first.output
    client = AdminClient(first.base_url)
    client.login("admin", "admin")
    tasks = client.object_ids("eztaskmanager/task")
    assert len(tasks) == 5
    # A task of the user's own, in the demo's category: the next start counts it apart.
    form = client.get("/admin/eztaskmanager/task/add/")[1]
    command = re.search(r'<option value="(\d+)">library: import_books</option>', form)
    status, body, _url = client.post(
        "/admin/eztaskmanager/task/add/",
        {"name": "My import", "command": command.group(1), "arguments": "--count=3"},
    )
    assert status == 200 and "was added successfully" in body, body[:3000]
    tasks = client.object_ids("eztaskmanager/task")
    assert_all_stopped(first, first.interrupt())

    second = run_demo("rq")
    assert "Admin login: admin (already there, password unchanged)" in second.output
    assert "5 sample tasks already there; 1 more task of yours." in second.output
    client = AdminClient(second.base_url)
    client.login("admin", "admin")
    assert client.object_ids("eztaskmanager/task") == tasks
    page = start_task_and_wait(second, client, "Send the newsletter")
    assert page["result"] == "ok", page
    messages = [line["message"] for line in page["new_log_lines"]]
    assert "Newsletter sent" in messages
    assert "Preparing the newsletter for 5 readers" in messages  # print(), on the RQ worker
    assert "Signed in to the mail server with ***" in messages  # a secret argument, masked
    assert "demo-only-secret" not in json.dumps(page)
    assert_all_stopped(second, second.interrupt())


def test_demo_pages_manage_py_debug_and_clock(run_demo, tmp_path):
    """What a new user meets around the admin: no 404 for "View site" or the icon, debug
    pages only on loopback, one time zone, and ``demo:manage`` on the demo's own Redis."""
    demo = run_demo("rq")
    assert "Debug pages: on (DJANGO_DEBUG=1; the server listens on 127.0.0.1 only)." in demo.output
    assert "hatch run demo:manage <command>" in demo.output
    client = AdminClient(demo.base_url)
    client.login("admin", "admin")
    status, index = client.get("/admin/")
    assert status == 200 and "View site" not in index  # the demo has no site of its own
    status, _body = client.get("/")  # followed to the admin
    assert status == 200
    with urllib.request.urlopen(f"{demo.base_url}/favicon.ico", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/svg+xml"

    # manage.py through the demo script: the running demo's Redis, data and settings.
    state = json.loads((tmp_path / "demo-data" / "demo.json").read_text())
    printed = (
        subprocess.run(
            [
                sys.executable,
                str(DEMO_SCRIPT),
                "manage",
                "--data-dir",
                str(tmp_path / "demo-data"),
                "shell",
                "-c",
                "from django.conf import settings as s; "
                "print(s.RQ_QUEUES['default']['URL'], s.DEBUG, s.TIME_ZONE)",
            ],
            env={
                k: v
                for k, v in os.environ.items()
                if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
            }
            | {"TZ": "Asia/Tokyo"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        .stdout.splitlines()[-1]
        .split()
    )  # after Django's "N objects imported automatically"
    assert printed == [state["redis_url"], "True", "Asia/Tokyo"], printed
    assert_all_stopped(demo, demo.interrupt())
    assert not (tmp_path / "demo-data" / "demo.json").exists()
