"""Run every package's tests and the integration tests, on SQLite and on PostgreSQL.

Each package has its own little Django project, so each runs in its own pytest process.
PostgreSQL is used when it answers (``PGHOST``/``PGPORT``, default 127.0.0.1:5432); under
``CI=true`` it must. Usage::

    python scripts/run_tests.py                     # everything
    python scripts/run_tests.py eztaskmanager rq    # some packages ("integration" too)
    python scripts/run_tests.py eztaskmanager --db sqlite -x -k next_run  # then pytest's
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
RUN_ID = f"{os.getpid()}"

# Test suites in the order they run: (name, directory, settings module, import needed).
SUITES = [
    ("eztaskmanager", "packages/eztaskmanager", "tests.settings", "eztaskmanager"),
    ("rq", "packages/eztaskmanager-rq", "tests.settings", "eztaskmanager_rq"),
    ("celery", "packages/eztaskmanager-celery", "tests.settings", "eztaskmanager_celery"),
    ("admin", "packages/eztaskmanager-admin", "tests.settings", "eztaskmanager_admin"),
    ("email", "packages/eztaskmanager-email", "tests.settings", "eztaskmanager_email"),
    ("slack", "packages/eztaskmanager-slack", "tests.settings", "eztaskmanager_slack"),
    ("integration_rq", "integration_tests/rq", "integration_tests.rq.settings", "eztaskmanager_rq"),
    (
        "integration_celery",
        "integration_tests/celery",
        "integration_tests.celery.settings",
        "eztaskmanager_celery",
    ),
    (
        "integration_notifiers",
        "integration_tests/notifiers",
        "integration_tests.notifiers.settings",
        "eztaskmanager_email",
    ),
    (
        "integration_browser",
        "integration_tests/browser",
        "integration_tests.browser.settings",
        "eztaskmanager_admin",
    ),
    (
        "integration_api",
        "integration_tests/api",
        "integration_tests.api.settings",
        "eztaskmanager_admin",
    ),
    (
        "integration_upgrade",
        "integration_tests/upgrade",
        "integration_tests.upgrade.settings",
        "eztaskmanager_rq",
    ),
    (
        "integration_demo",
        "integration_tests/demo",
        "integration_tests.demo.settings",
        "eztaskmanager",
    ),
]


def postgres_available() -> bool:
    host, port = os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432"))
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def run_suite(name: str, directory: str, settings: str, db: str, extra: list[str]) -> Path:
    """Run one suite on one database; return its JUnit XML report."""
    report = OUTPUT / f"junit-{name}-{db}.xml"
    suite_dir = ROOT / directory
    env = dict(os.environ, EZTASKMANAGER_TEST_DB=db, DJANGO_SETTINGS_MODULE=settings)
    paths = [str(ROOT), str(suite_dir)] if directory.startswith("packages/") else [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # Named per run: two test runs on one machine never share a database.
    env["EZTASKMANAGER_TEST_DB_NAME"] = f"test_eztm_{name}_{RUN_ID}"
    tests = suite_dir / "tests" if directory.startswith("packages/") else suite_dir
    command = [sys.executable, "-m", "pytest", str(tests), f"--junitxml={report}", *extra]
    print(f"\n=== {name} on {db}: {' '.join(command[2:])}", flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=False)
    return report


def count(report: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from a JUnit XML report; a missing report is one failure."""
    if not report.exists():
        return 0, 1, 0
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return tests - failed - skipped, failed, skipped


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """Suite names and ``--db`` are ours; from the first other option on, all is pytest's.

    ``hatch test`` drops a ``--`` separator, so pytest options may come without one.
    """
    ours: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            return ours, argv[index + 1 :]
        if arg == "--db" or arg.startswith("--db=") or not arg.startswith("-"):
            ours.append(arg)
        else:
            return ours, argv[index:]
    return ours, []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help="suite names (default: all installed)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "all"], default="all")
    ours, extra = split_arguments(sys.argv[1:])
    args = parser.parse_args(ours)
    # `hatch test` passes "tests" when given no arguments.
    wanted = [s for s in args.suites if s != "tests"] or [s[0] for s in SUITES]

    databases = ["sqlite", "postgres"] if args.db == "all" else [args.db]
    if "postgres" in databases and not postgres_available():
        if os.environ.get("CI") == "true":
            print("PostgreSQL is not reachable and CI=true: it must be used in CI.", flush=True)
            return 2
        print("PostgreSQL is not reachable: running on SQLite only.", flush=True)
        databases.remove("postgres")

    OUTPUT.mkdir(exist_ok=True)
    totals = [0, 0, 0]
    started = time.monotonic()
    for name, directory, settings, module in SUITES:
        if name not in wanted:
            continue
        if importlib.util.find_spec(module) is None or not any(
            (ROOT / directory).rglob("test_*.py")
        ):
            print(f"\n=== {name}: not installed in this environment, skipped", flush=True)
            continue
        for db in databases:
            report = run_suite(name, directory, settings, db, extra)
            for i, value in enumerate(count(report)):
                totals[i] += value
    passed, failed, skipped = totals
    print(f"\nAll suites finished in {time.monotonic() - started:.0f} s.")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if passed + failed == 0:
        return 5
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
