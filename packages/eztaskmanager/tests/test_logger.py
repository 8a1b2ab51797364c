import logging
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eztaskmanager.models import LaunchReport, Log
from eztaskmanager.services import run_management_command
from eztaskmanager.services.logger import (
    DatabaseLogHandler,
    LogStream,
    verbosity2loglevel,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(task):
    return LaunchReport.objects.create(task=task("test_livelogging_command"))


def make_logger(handler, name="tests.batching"):
    log = logging.getLogger(name)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    return log


def test_flushes_on_batch_size(report):
    handler = DatabaseLogHandler(report.pk, batch_size=10, flush_interval=3600)
    log = make_logger(handler)
    try:
        for i in range(9):
            log.info("line %d", i)
        assert Log.objects.filter(launch_report=report).count() == 0
        log.info("line 9")
        assert Log.objects.filter(launch_report=report).count() == 10
        for i in range(25):
            log.warning("more %d", i)
        assert Log.objects.filter(launch_report=report).count() == 30
    finally:
        log.removeHandler(handler)
        handler.close()
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_warnings) == (35, 25)
    assert list(report.logs.values_list("line", flat=True)) == list(range(35))


def test_a_batch_costs_the_same_queries_whatever_its_size(report):
    """One COPY (PostgreSQL) or one executemany (SQLite) per flush, not a query per line."""
    handler = DatabaseLogHandler(report.pk, batch_size=100_000, flush_interval=3600)
    log = make_logger(handler)
    counts = []
    for lines in (10, 4000):
        for i in range(lines):
            log.info("line %d", i)
        with CaptureQueriesContext(connection) as queries:
            handler.flush()
        counts.append(len(queries))
    log.removeHandler(handler)
    handler.close()
    assert counts[0] == counts[1] <= 5
    assert report.logs.count() == 4010


def test_flushes_after_the_interval_on_next_record(report):
    handler = DatabaseLogHandler(report.pk, batch_size=1000, flush_interval=0.05)
    log = make_logger(handler)
    try:
        log.info("first")
        time.sleep(0.06)
        log.info("second")
        assert report.logs.count() == 2
    finally:
        log.removeHandler(handler)
        handler.close()


def test_records_of_other_threads_are_ignored(report):
    handler = DatabaseLogHandler(report.pk, thread_id=threading.get_ident())
    log = make_logger(handler)
    worker = threading.Thread(target=log.info, args=("from another thread",))
    worker.start()
    worker.join()
    log.info("from the run's thread")
    log.removeHandler(handler)
    handler.close()
    assert list(report.logs.values_list("message", flat=True)) == ["from the run's thread"]


def test_log_stream_splits_lines(report):
    handler = DatabaseLogHandler(report.pk)
    stream = LogStream(handler, logging.INFO, "tests.stdout")
    stream.write("one\ntw")
    stream.write("o\nthree")
    stream.flush()
    handler.close()
    assert list(report.logs.values_list("message", flat=True)) == ["one", "two", "three"]


def test_a_thousand_runs_leak_no_handler(task):
    t = task("test_stdout_command", "--lines=1")
    root = logging.getLogger()
    command_logger = logging.getLogger("eztaskmanager.commands.test_livelogging_command")
    live = task("test_livelogging_command", "--limit=1,--sleep=0")
    run_management_command(live.pk)  # first run adds the command's console handler
    before = (len(root.handlers), len(command_logger.handlers), threading.active_count())
    for _ in range(500):
        run_management_command(t.pk)
        run_management_command(live.pk)
    after = (len(root.handlers), len(command_logger.handlers), threading.active_count())
    assert after == before
    assert not any(isinstance(h, DatabaseLogHandler) for h in root.handlers)


@pytest.mark.parametrize(
    ("verbosity", "level"),
    [(0, logging.WARNING), (1, logging.INFO), (2, logging.DEBUG), ("3", logging.DEBUG)],
)
def test_verbosity2loglevel(verbosity, level):
    assert verbosity2loglevel(verbosity) == level
