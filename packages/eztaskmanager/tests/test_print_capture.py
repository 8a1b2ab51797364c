"""``print()`` and writes to ``sys.stdout``/``sys.stderr`` land in the run's log, only the run's.

The runner routes the process's streams by thread (:func:`printing_to`), so that a
command's ``print()`` is stored as INFO (``sys.stderr`` as WARNING, like ``self.stderr``)
on every backend, while the worker's other threads, and its logging, keep the console.
"""

from __future__ import annotations

import io
import logging
import sys
import threading

import pytest

from eztaskmanager.services import run_management_command
from eztaskmanager.services.logger import LogStream
from eztaskmanager.services.runner import ThreadRoutedStream, printing_to

pytestmark = pytest.mark.django_db


def lines_of(report) -> list[tuple[str, str]]:
    return list(report.logs.order_by("line").values_list("level", "message"))


def run(task, arguments: str = ""):
    owner = task("sample_print", arguments, app_name="tests.testapp")
    return run_management_command(owner.pk)


def test_print_is_stored_as_info_and_stderr_as_warning_in_order(task):
    before = (sys.stdout, sys.stderr)
    report = run(task)
    assert lines_of(report) == [
        ("INFO", "self.stdout line"),
        ("INFO", "printed line"),
        ("INFO", "partial line"),  # print(end="", flush=True) does not cut the line
        ("WARNING", "to stderr"),
        ("INFO", "sys.stdout line"),
        ("INFO", "last words"),  # an unfinished last line is kept
    ]
    assert (report.invocation_result, report.n_log_warnings) == ("warnings", 1)
    assert (sys.stdout, sys.stderr) == before, "the process's streams were not put back"


def test_a_console_handler_made_during_the_run_writes_to_the_console_not_twice_to_the_log(
    task, capsys
):
    report = run(task, "--console-handler")
    messages = [message for _level, message in lines_of(report)]
    assert messages.count("logged once") == 1  # by the run's log handler, not the console's
    assert "logged once" in capsys.readouterr().err


def test_what_another_thread_prints_stays_out_of_the_log(task, capsys):
    report = run(task, "--from-thread")
    assert "printed by another thread" not in [message for _level, message in lines_of(report)]
    assert "printed by another thread" in capsys.readouterr().out


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []

    def handle(self, record: logging.LogRecord) -> bool:
        self.records.append((record.levelname, record.getMessage()))
        return True


def streams() -> tuple[Collector, LogStream, LogStream]:
    handler = Collector()
    return (
        handler,
        LogStream(handler, logging.INFO, "out"),
        LogStream(handler, logging.WARNING, "err"),
    )


def test_runs_in_threads_of_one_process_each_get_their_own_lines(capsys):
    """A threads pool: two runs at once; the streams are put back after the last one."""
    original = sys.stdout
    inside = threading.Barrier(2)
    handlers = []

    def one_run(name: str) -> None:
        handler, out, err = streams()
        handlers.append((name, handler))
        with printing_to(out, err):
            inside.wait(timeout=10)
            print(f"{name} says hello")
            print(f"{name} complains", file=sys.stderr)
            inside.wait(timeout=10)

    runs = [threading.Thread(target=one_run, args=(name,)) for name in ("first", "second")]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=20)
    for name, handler in handlers:
        assert handler.records == [("INFO", f"{name} says hello"), ("WARNING", f"{name} complains")]
    assert sys.stdout is original
    print("after the runs")
    assert "after the runs" in capsys.readouterr().out


def test_a_run_inside_a_run_gives_the_streams_back_to_the_outer_run():
    outer, outer_out, outer_err = streams()
    inner, inner_out, inner_err = streams()
    with printing_to(outer_out, outer_err):
        with printing_to(inner_out, inner_err):
            print("inner")
        print("outer")
    assert inner.records == [("INFO", "inner")]
    assert outer.records == [("INFO", "outer")]
    assert not isinstance(sys.stdout, ThreadRoutedStream)


def test_streams_replaced_during_a_run_are_left_as_they_are():
    """Whoever replaced sys.stdout meanwhile (a capture, an engine's redirection) keeps it."""
    _handler, out, err = streams()
    original = sys.stdout
    replacement = io.StringIO()
    try:
        with printing_to(out, err):
            sys.stdout = replacement
        assert sys.stdout is replacement
    finally:
        sys.stdout = original


def test_the_routed_stream_looks_like_the_stream_it_replaced():
    _handler, out, err = streams()
    original = sys.stdout
    with printing_to(out, err):
        assert sys.stdout.isatty() is False
        assert sys.stdout.encoding == original.encoding
        holder: list[bool] = []
        other = threading.Thread(target=lambda: holder.append(sys.stdout.isatty()))
        other.start()
        other.join()
        assert holder == [original.isatty()]
