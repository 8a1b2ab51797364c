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
from testsupport.sessions import end_session_of

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


def break_the_connection():
    """Make the next query on this thread's connection fail, as a database restart would."""

    if connection.vendor == "postgresql":
        end_session_of(connection)
    else:
        connection.ensure_connection()
        connection.connection.close()  # behind Django's back: it still thinks it is open


@pytest.mark.django_db(transaction=True)
def test_lines_are_kept_across_a_database_blip(report):
    handler = DatabaseLogHandler(report.pk, batch_size=1000, flush_interval=3600)
    log = make_logger(handler, "tests.blip")
    try:
        log.info("before")
        handler.flush()
        break_the_connection()
        log.info("during 1")
        log.warning("during 2")
        handler.flush()  # fails: the lines stay in memory
        assert handler.buffer[2::3] == ["during 1", "during 2"]  # (time, level, message) each
        writer = handler.writer
        assert writer.failing_since is not None and writer.retry_at > time.monotonic() - 1
        log.info("after")
    finally:
        log.removeHandler(handler)
        handler.close()  # waits for the retry, then writes on a fresh connection
    assert list(report.logs.values_list("message", flat=True)) == [
        "before",
        "during 1",
        "during 2",
        "after",
    ]
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_warnings) == (4, 1)


@pytest.mark.django_db(transaction=True)
def test_when_too_many_lines_wait_the_oldest_go_and_the_report_says_so(report):
    handler = DatabaseLogHandler(report.pk, batch_size=1000, flush_interval=3600, max_buffered=3)
    log = make_logger(handler, "tests.overflow")
    try:
        break_the_connection()
        for i in range(5):
            log.info("line %d", i)
        handler.flush()
        assert handler.writer.dropped == 2
    finally:
        log.removeHandler(handler)
        handler.close()
    messages = list(report.logs.values_list("level", "message"))
    assert messages[:3] == [("INFO", "line 2"), ("INFO", "line 3"), ("INFO", "line 4")]
    level, notice = messages[3]
    assert level == "WARNING" and notice.startswith("2 log lines were lost: the database")
    report.refresh_from_db()
    assert report.n_log_warnings == 0  # the handler's own trouble does not make warnings


def test_a_run_that_ended_gets_no_more_lines(report):
    handler = DatabaseLogHandler(report.pk, batch_size=1)
    log = make_logger(handler, "tests.ended")
    log.info("while running")
    report.finish("stopped")
    log.info("after the end")
    log.info("and more")
    log.removeHandler(handler)
    handler.close()
    assert handler.writer.run_ended
    assert list(report.logs.values_list("message", flat=True)) == ["while running"]


def test_a_long_line_written_in_small_pieces_is_one_line(report):
    handler = DatabaseLogHandler(report.pk)
    stream = LogStream(handler, logging.INFO, "tests.stdout")
    piece = "x" * 1024
    for _ in range(2048):  # 2 MiB; joining once makes this linear, not quadratic
        stream.write(piece)
    stream.write("\nnext")
    stream.flush()
    handler.close()
    lengths = [len(m) for m in report.logs.values_list("message", flat=True)]
    assert lengths == [2048 * 1024, 4]


@pytest.mark.django_db(transaction=True)
def test_lines_a_failed_write_kept_are_written_before_the_end_takes_the_rest(report):
    """The end writes the last lines with it, unless writes were failing: the handler then
    writes them itself, as close() does, and hands over none."""
    handler = DatabaseLogHandler(report.pk, batch_size=1000, flush_interval=3600)
    log = make_logger(handler, "tests.blip_at_end")
    try:
        break_the_connection()
        log.warning("during")
        handler.flush()  # fails: the line stays in memory
    finally:
        log.removeHandler(handler)
        lines = handler.close_taking_last_lines()
    assert lines.levels == ()
    assert list(report.logs.values_list("message", flat=True)) == ["during"]
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_warnings) == (1, 1)


def test_the_end_takes_the_lines_still_waiting(report):
    handler = DatabaseLogHandler(report.pk, batch_size=1000, flush_interval=3600)
    log = make_logger(handler, "tests.take")
    log.info("written")
    handler.flush()
    log.error("waiting")
    log.removeHandler(handler)
    lines = handler.close_taking_last_lines()
    assert (list(lines.levels), list(lines.messages)) == (["ERROR"], ["waiting"])
    assert handler.buffer == []  # taken, not written twice
    assert list(report.logs.values_list("message", flat=True)) == ["written"]
