"""Log lines as written in batches: stored exactly, in order, while the command goes on logging."""

import gc
import logging
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection, connections

from eztaskmanager.models import LaunchReport, write_log_rows
from eztaskmanager.models.log_inserts import PG_INSERT_UP_TO
from eztaskmanager.models.logs import LogColumns
from eztaskmanager.services.logger import DatabaseLogHandler

pytestmark = pytest.mark.django_db

AWKWARD = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "\\",
    "",
    "ünïcødé ✓ 日本",
    'quote " and \' json [1, "x"]',
    "1234",
    "nul \x00 inside",
]


@pytest.fixture
def report(task):
    return LaunchReport.objects.create(task=task("test_livelogging_command"))


@contextmanager
def logging_to(handler, name):
    """A logger of its own that sends every record to ``handler`` alone; closed after."""
    log = logging.getLogger(name)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    try:
        yield log
    finally:
        log.removeHandler(handler)
        handler.close()


def stored(report):
    return list(report.logs.order_by("line").values_list("line", "timestamp", "level", "message"))


# Batches of a few lines and of more take different statements on PostgreSQL.
BATCHES = pytest.mark.parametrize("batch", [2, PG_INSERT_UP_TO + 1], ids=["few", "many"])


@BATCHES
def test_awkward_messages_and_levels_are_stored_as_they_are(report, batch):
    now = time.time()
    rows = [(now, "INFO", message) for message in AWKWARD]
    rows.append((now, "ODD\tLEVEL", "a level with a tab"))
    rows.append((now, "NUL\x00LEVEL", "a level with a NUL"))
    for first in range(0, len(rows), batch):
        assert write_log_rows(report.pk, rows[first : first + batch])
    pg = connection.vendor == "postgresql"
    nul = "\ufffd" if pg else "\x00"  # PostgreSQL cannot store NUL
    expected = [
        (level.replace("\x00", nul), message.replace("\x00", nul)) for _t, level, message in rows
    ]
    assert [(level, message) for _line, _stamp, level, message in stored(report)] == expected


@BATCHES
def test_a_line_that_cannot_be_encoded_does_not_lose_its_batch(report, batch):
    now = time.time()
    rows = [(now, "INFO", "before"), (now, "INFO", "lone \udcff surrogate"), (now, "INFO", "after")]
    rows += [(now, "INFO", "filler")] * (batch - len(rows))
    assert write_log_rows(report.pk, rows)
    messages = [message for _line, _stamp, _level, message in stored(report)]
    assert messages[0] == "before" and messages[2] == "after"
    assert messages[1].startswith("lone ") and messages[1].endswith(" surrogate")
    assert len(messages) == max(batch, 3)


def test_lines_keep_their_time_to_the_microsecond(report):
    base = datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt_timezone.utc).timestamp()
    created = [base, base + 0.000001, base + 0.5, base + 0.999999, base + 1.25, base + 86400]
    write_log_rows(report.pk, [(c, "INFO", str(c)) for c in created])
    for (_line, stamp, _level, _message), c in zip(stored(report), created, strict=True):
        expected = datetime.fromtimestamp(c, dt_timezone.utc)
        # created is a float: its last microsecond may round either way.
        assert abs(stamp - expected) <= timedelta(microseconds=1), (stamp, expected)


def test_a_batch_of_many_lines_is_stored_whole_and_in_order(report):
    """SQLite's batch is encoded in chunks of rows; none is lost or moved at their seams."""
    now = time.time()
    write_log_rows(report.pk, [(now + i / 1e6, "INFO", f"line {i}") for i in range(1201)])
    rows = stored(report)
    assert [message for *_rest, message in rows] == [f"line {i}" for i in range(1201)]
    assert [line for line, *_rest in rows] == list(range(1201))


def test_batches_continue_the_numbering_and_count_levels(report):
    now = time.time()
    write_log_rows(report.pk, [(now, level, level) for level in ("INFO", "ERROR", "WARNING")])
    write_log_rows(report.pk, [(now, "CRITICAL", "x"), (now, "WARNING", "y")])
    write_log_rows(report.pk, [(now, "ERROR", "not counted")], counted=False)
    assert [line for line, *_rest in stored(report)] == list(range(6))
    report.refresh_from_db()
    assert (report.n_log_lines, report.n_log_errors, report.n_log_warnings) == (6, 2, 2)


@pytest.mark.django_db(transaction=True)
def test_a_helper_thread_writes_while_the_command_logs_and_nothing_is_lost(report):
    """The command's thread only appends; the helper writes batches as they come, in order."""
    handler = DatabaseLogHandler(
        report.pk, batch_size=500, thread_id=threading.get_ident(), helper_writes=True
    )
    stop = threading.Event()

    def helper():
        try:
            while not stop.is_set():
                handler.flush_if_due()
                time.sleep(0.001)
        finally:
            connections.close_all()

    def stored_so_far() -> int:
        return LaunchReport.objects.get(pk=report.pk).n_log_lines

    thread = threading.Thread(target=helper)
    thread.start()
    with logging_to(handler, "tests.helper_writes") as log:
        try:
            for i in range(10_000):
                log.info("line %d", i)
            # The command goes on only once the helper has written: whatever the machine's
            # speed, the second half is logged while batches are being written.
            deadline = time.monotonic() + 30
            while not stored_so_far() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert stored_so_far(), "the helper thread wrote nothing"
            for i in range(10_000, 20_000):
                log.info("line %d", i)
        finally:
            stop.set()
            thread.join()
    messages = [message for _line, _stamp, _level, message in stored(report)]
    assert messages == [f"line {i}" for i in range(20_000)]
    report.refresh_from_db()
    assert report.n_log_lines == 20_000


def test_with_a_helper_the_command_thread_does_not_write_a_batch_itself(report):
    handler = DatabaseLogHandler(report.pk, batch_size=10, flush_interval=0, helper_writes=True)
    with logging_to(handler, "tests.helper_batch") as log:
        for i in range(50):
            log.info("line %d", i)
        assert report.logs.count() == 0 and handler.writer.waiting_lines() == 50
        assert handler.flush_if_due()  # the helper's call: it wrote, the log is busy
        assert report.logs.count() == 50 and not handler.buffer
        assert not handler.flush_if_due()  # nothing waits: the helper may sleep longer


def test_a_waiting_batch_wakes_the_helper_once_until_it_has_written(report):
    handler = DatabaseLogHandler(report.pk, batch_size=10, helper_writes=True, max_buffered=100)
    wakes = []
    handler.writer.wake = lambda: wakes.append(handler.writer.waiting_lines())
    with logging_to(handler, "tests.helper_wake") as log:
        for i in range(25):
            log.info("line %d", i)
        assert wakes == [10] and report.logs.count() == 0  # woken at the batch, not again
        assert handler.flush_if_due()  # the helper writes: the next batch wakes it again
        for i in range(25, 35):
            log.info("line %d", i)
        assert wakes == [10, 10] and report.logs.count() == 25
        # Far behind (half of max_buffered: 50 lines), the command's thread writes itself.
        for i in range(35, 74):
            log.info("line %d", i)
        assert report.logs.count() == 25
        log.info("line 74")
        assert report.logs.count() == 75 and wakes == [10, 10]


def test_waiting_lines_hold_nothing_the_garbage_collector_tracks(report):
    """A tracked object kept per line (a tuple) would bring a collection every 700 lines,
    each longer as the lines pile up, on the command's thread."""
    handler = DatabaseLogHandler(report.pk, helper_writes=True)
    with logging_to(handler, "tests.untracked") as log:
        for i in range(100):
            log.warning("line %d", i)
        assert handler.writer.waiting_lines() == 100
        assert not [item for item in handler.buffer if gc.is_tracked(item)]
    assert report.logs.count() == 100


def test_a_level_longer_than_its_column_is_cut_not_the_batch_lost(report):
    """A custom level's name (``logging.addLevelName``) may be longer than the column:
    PostgreSQL would refuse the whole batch, and the run's end with it."""
    now = time.time()
    assert write_log_rows(report.pk, [(now, "INFO", "before"), (now, "NOTICE_FROM_A_LIBRARY", "x")])
    report.finish(None, lines=LogColumns([now], ["ANOTHER_LONG_LEVEL"], ["last"]))
    assert [(level, message) for _line, _stamp, level, message in stored(report)] == [
        ("INFO", "before"),
        ("NOTICE_FRO", "x"),
        ("ANOTHER_LO", "last"),
    ]
    assert LaunchReport.objects.get(pk=report.pk).invocation_result == "ok"
