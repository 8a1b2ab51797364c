"""A run's progress: bars kept as the latest value of each group, stored without a row per call."""

import pytest

from eztaskmanager.models import LaunchReport
from eztaskmanager.progress import MAX_BARS, MAX_DEPTH, RunProgress, report_progress, tracking
from eztaskmanager.registry import get_backend

LIVE = "test_livelogging_command"


def test_the_latest_value_of_each_group_is_taken_once():
    progress = RunProgress()
    assert progress.take() is None
    for i in range(1, 1001):
        progress.update(i, 1000, group=("Download",), status=f"file {i}")
    progress.update(1, 3, group=("Download", "file 1000"))
    bars = progress.take()["bars"]
    assert [(b["group"], b["current"], b["total"], b["status"]) for b in bars] == [
        (["Download"], 1000, 1000, "file 1000"),
        (["Download", "file 1000"], 1, 3, ""),
    ]
    assert bars[0]["started"] <= bars[0]["updated"]
    assert progress.take() is None  # unchanged since
    progress.give_back()  # not stored: taken again
    assert progress.take()["bars"] == bars


def test_bounds_keep_a_careless_loop_from_growing_the_row():
    progress = RunProgress()
    for i in range(MAX_BARS + 20):
        progress.update(i, None, group=f"item {i}")
    progress.update(1, 2, group=[str(n) for n in range(MAX_DEPTH + 3)], status="x" * 10_000)
    bars = progress.take()["bars"]
    assert len(bars) == MAX_BARS and bars[0]["total"] is None


def test_values_that_are_not_finite_numbers_are_dropped_with_a_warning(caplog):
    progress = RunProgress()
    progress.update(float("nan"), 10, group="nan")
    progress.update("many", 10, group="text")
    progress.update(1, float("inf"), group="inf")
    progress.update(2.5, 10, group="fine", status=3)
    with caplog.at_level("WARNING"):
        bars = progress.take()["bars"]
    assert [(b["group"], b["current"], b["status"]) for b in bars] == [(["fine"], 2.5, "3")]
    assert caplog.text.count("are not finite numbers") == 3


def test_outside_a_run_reporting_does_nothing():
    report_progress(1, 2)  # no run in this thread, nor in the process
    progress = RunProgress()
    with tracking(progress):
        report_progress(2, 4, group="Steps", status="half")
    report_progress(3, 4, group="Steps")
    assert [b["current"] for b in progress.take()["bars"]] == [2]


@pytest.mark.django_db
def test_a_runs_last_bars_are_on_its_report(task):
    t = task(LIVE, "--limit=7,--sleep=0")
    report = get_backend().add(t)  # the immediate backend: run now
    report.refresh_from_db()
    [bar] = report.progress["bars"]
    assert (bar["group"], bar["current"], bar["total"]) == (["Iterations"], 7, 7)


@pytest.mark.django_db
def test_the_heartbeat_stores_the_bars_in_its_update(task):
    t = task(LIVE)
    t.queue_run("job-1")
    report = LaunchReport.objects.start_run(t.pk, "job-1")
    assert report.heartbeat({"bars": [{"group": ["A"], "current": 1, "total": 2}]}) == "running"
    assert report.heartbeat() == "running"  # no new bars: the stored ones stay
    report.refresh_from_db()
    assert report.progress["bars"][0]["current"] == 1
