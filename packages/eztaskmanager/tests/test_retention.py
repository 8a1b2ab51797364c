"""Retention by age and level: eztaskmanager_prune deletes old finished reports and drops old
DEBUG lines, numbering the rest again so that the viewer's pages stay right."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connections, router
from django.test import override_settings
from django.utils import timezone

from eztaskmanager import retention
from eztaskmanager.models import Artifact, LaunchReport, Log, Task
from eztaskmanager.models.artifacts import artifacts_storage
from eztaskmanager.models.logs import write_log_rows
from eztaskmanager.retention import LINES_PER_BATCH, prune, renumber_lines

# A log with DEBUG lines among the others: message i is line i before the prune.
MIXED = ["INFO", "DEBUG", "DEBUG", "WARNING", "DEBUG", "ERROR", "INFO", "DEBUG"]


def make_report(task: Task, days_ago: float | None, levels=("INFO",), state=None) -> LaunchReport:
    """A report of ``task`` with a line per level, ended ``days_ago`` days ago (``None``: still
    running); its lines written as a run writes them."""
    now = timezone.now()
    started = now - timedelta(days=days_ago or 0, minutes=5)
    report = LaunchReport.objects.create(
        task=task, state=LaunchReport.STATE_RUNNING, invocation_datetime=started
    )
    write_log_rows(report.pk, [(time.time(), lvl, f"{i} {lvl}") for i, lvl in enumerate(levels)])
    if days_ago is not None:
        LaunchReport.objects.filter(pk=report.pk).update(
            state=LaunchReport.STATE_FINISHED,
            finished_at=now - timedelta(days=days_ago),
            invocation_result="ok",
        )
    elif state is not None:
        LaunchReport.objects.filter(pk=report.pk).update(state=state)
    report.refresh_from_db()
    return report


def prune_command(*args: str, verbosity: int = 1) -> str:
    out = StringIO()
    call_command("eztaskmanager_prune", *args, stdout=out, verbosity=verbosity)
    return out.getvalue()


def messages(report: LaunchReport) -> list[str]:
    return list(report.logs.order_by("line").values_list("message", flat=True))


# Age ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_reports_older_than_the_age_go_but_runs_going_on_and_each_tasks_newest(task):
    nightly, yearly = task(name="nightly"), task(name="yearly")
    old = [make_report(nightly, days, MIXED) for days in (40, 20)]
    newest = make_report(nightly, 10)
    running = make_report(nightly, None)  # started before the cut-off, still going on
    LaunchReport.objects.filter(pk=running.pk).update(
        invocation_datetime=timezone.now() - timedelta(days=50)
    )
    queued = make_report(nightly, None, state=LaunchReport.STATE_QUEUED)
    only = make_report(yearly, 100)  # its task's newest finished report: kept
    nightly.compute_cache()

    out = prune_command("--max-age=15")

    left = set(LaunchReport.objects.values_list("pk", flat=True))
    assert left == {newest.pk, running.pk, queued.pk, only.pk}
    assert not Log.objects.filter(launch_report_id__in=[r.pk for r in old]).exists()
    assert out.splitlines() == [
        "Reports that ended more than 15 days ago: 2 deleted (16 log lines, 0 artifacts).",
        "  nightly: 2 reports, 16 lines, 0 artifacts",
    ]
    nightly.refresh_from_db()
    assert nightly.cached_last_report_id == newest.pk
    assert prune_command("--max-age=15").splitlines() == [  # again: nothing more
        "Reports that ended more than 15 days ago: 0 deleted (0 log lines, 0 artifacts)."
    ]


@pytest.mark.django_db
def test_the_settings_give_the_defaults_and_nothing_set_says_so(task):
    assert prune_command() == (
        "Nothing to prune: no age is set. Pass --max-age or --debug-older-than, or set "
        'EZTASKMANAGER["REPORTS_MAX_AGE_DAYS"] or EZTASKMANAGER["DEBUG_LINES_MAX_AGE_DAYS"].\n'
    )
    t = task(name="t")
    make_report(t, 30)
    make_report(t, 1, ["DEBUG", "INFO"])
    config = {"BACKEND": "immediate", "REPORTS_MAX_AGE_DAYS": 7, "DEBUG_LINES_MAX_AGE_DAYS": 0.5}
    with override_settings(EZTASKMANAGER=config):
        out = prune_command(verbosity=0)
    assert out.splitlines() == [
        "Reports that ended more than 7 days ago: 1 deleted (1 log lines, 0 artifacts).",
        "DEBUG lines of reports that ended more than 0.5 days ago: 1 dropped from 1 reports.",
    ]
    wrong = {**config, "REPORTS_MAX_AGE_DAYS": "a week"}
    with (
        override_settings(EZTASKMANAGER=wrong),
        pytest.raises(CommandError, match=r'"REPORTS_MAX_AGE_DAYS"\] must be a number'),
    ):
        prune_command()


@pytest.mark.django_db
def test_wrong_options_are_refused(task):
    with pytest.raises(CommandError, match="max-age"):
        prune_command("--max-age=-1")
    with pytest.raises(CommandError, match="batch-size"):
        prune_command("--max-age=1", "--batch-size=0")


# DEBUG lines -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_debug_lines_go_and_the_rest_are_numbered_again(task):
    t = task(name="nightly")
    report = make_report(t, 10, MIXED)
    recent = make_report(t, 1, MIXED)
    running = make_report(t, None, MIXED)
    LaunchReport.objects.filter(pk=running.pk).update(
        invocation_datetime=timezone.now() - timedelta(days=30)
    )

    out = prune_command("--debug-older-than=7")

    assert out.splitlines() == [
        "DEBUG lines of reports that ended more than 7 days ago: 4 dropped from 1 reports.",
        "  nightly: 4 lines from 1 reports",
    ]
    report.refresh_from_db()
    assert list(report.logs.order_by("line").values_list("line", "message")) == [
        (0, "0 INFO"),
        (1, "3 WARNING"),
        (2, "5 ERROR"),
        (3, "6 INFO"),
    ]
    assert (report.n_log_lines, report.n_log_errors, report.n_log_warnings) == (4, 1, 1)
    # The viewer reads pages by offset against line numbers: every offset is right.
    for offset, expected in enumerate(["0 INFO", "3 WARNING", "5 ERROR", "6 INFO"]):
        lines, total = report.read_log_lines(offset, limit=1)
        assert total == 4 and [line.split(" - ", 2)[2] for line in lines] == [expected]
    assert report.read_log_lines(4) == ([], 4)
    assert str(report.log_tail(1)).endswith("6 INFO") and "3 lines hidden" in str(
        report.log_tail(1)
    )
    for untouched in (recent, running):
        assert messages(untouched) == [f"{i} {lvl}" for i, lvl in enumerate(MIXED)]
        untouched.refresh_from_db()
        assert untouched.n_log_lines == len(MIXED)
    assert "0 dropped from 0 reports" in prune_command("--debug-older-than=7")


@pytest.mark.django_db
def test_renumbering_a_long_log_keeps_its_pages_in_order(task):
    levels = ["DEBUG" if i % 3 else "INFO" for i in range(3500)]
    report = make_report(task(name="big"), 10, levels)
    prune_command("--debug-older-than=1")
    report.refresh_from_db()
    kept = [f"{i} INFO" for i in range(0, 3500, 3)]
    assert report.n_log_lines == len(kept) == 1167
    seen: list[str] = []
    while len(seen) < report.n_log_lines:  # as the viewer's client asks, a page at a time
        page, total = report.read_log_lines(len(seen), limit=500)
        assert total == len(kept) and page
        seen += [line.split(" - ", 2)[2] for line in page]
    assert seen == kept


@pytest.mark.django_db
@pytest.mark.parametrize("one_update", [True, False], ids=["window UPDATE", "chunks"])
def test_renumber_lines_on_its_own(task, monkeypatch, one_update):
    """Lines with gaps take their rank; no pair ever collides. Databases without
    ``UPDATE ... FROM`` (or SQLite before 3.33) write the ranks in chunks."""
    if not one_update:
        monkeypatch.setattr(retention, "_updates_from_a_window", lambda connection: False)
    report = make_report(task(name="gaps"), 10, ["INFO"] * 6)
    Log.objects.filter(launch_report=report, line__in=[1, 4]).delete()
    assert renumber_lines(report.pk, 6, router.db_for_write(Log)) == 4
    assert messages(report) == ["0 INFO", "2 INFO", "3 INFO", "5 INFO"]
    assert list(report.logs.order_by("line").values_list("line", flat=True)) == [0, 1, 2, 3]


# Dry run -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_dry_run_changes_nothing_and_says_what_would_go(task):
    t = task(name="nightly")
    old = make_report(t, 40, MIXED)
    middle = make_report(t, 20, MIXED)
    make_report(t, 1, MIXED)
    before = list(Log.objects.order_by("launch_report", "line").values_list("pk", "line"))

    out = prune_command("--max-age=30", "--debug-older-than=7", "--dry-run")

    assert out.splitlines() == [
        "Dry run, nothing removed. Reports that ended more than 30 days ago: 1 would be "
        "deleted (8 log lines, 0 artifacts).",
        "  nightly: 1 reports, 8 lines, 0 artifacts",
        # The old report's DEBUG lines would go with it: only the middle one's counted.
        "Dry run, nothing removed. DEBUG lines of reports that ended more than 7 days ago: "
        "4 would be dropped from 1 reports.",
        "  nightly: 4 lines from 1 reports",
    ]
    assert list(Log.objects.order_by("launch_report", "line").values_list("pk", "line")) == before
    assert LaunchReport.objects.filter(pk__in=[old.pk, middle.pk]).count() == 2
    real = prune_command("--max-age=30", "--debug-older-than=7")
    assert real.replace("deleted", "would be deleted").replace("dropped", "would be dropped") == (
        out.replace("Dry run, nothing removed. ", "")
    )


# Artifacts and batches ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_artifacts_of_deleted_reports_go_with_their_files(task, tmp_path: Path):
    stores = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        }
    }
    with override_settings(STORAGES=stores):
        t = task(name="exports")
        old, kept = make_report(t, 40), make_report(t, 1)
        files = []
        for report in (old, old, kept):
            artifact = Artifact(report=report, name="a.csv", size=3)
            artifact.file.name = artifacts_storage().save(
                f"x/{report.pk}/a.csv", ContentFile(b"abc")
            )
            artifact.save()
            files.append(tmp_path / artifact.file.name)
        out = prune_command("--max-age=30")
        assert "1 deleted (1 log lines, 2 artifacts)" in out
        assert [f.exists() for f in files] == [False, False, True]


@pytest.mark.django_db
def test_batches_cover_every_report(task):
    t = task(name="many")
    for days in range(30, 43):
        make_report(t, days, ["DEBUG", "INFO"])
    make_report(t, 1)
    pruned = prune(20, 5, batch_size=2)
    assert (pruned.total.reports, pruned.total.lines) == (13, 26)
    assert LaunchReport.objects.count() == 1
    assert LINES_PER_BATCH >= 1000  # a batch is bounded by its lines too (one big report alone)


# Two at once -------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_prunes_at_once_share_the_work_and_count_it_once(task):
    tasks = [task(name=f"t{n}") for n in range(3)]
    for t in tasks:
        for days in range(20, 32):
            make_report(t, days, MIXED)
        make_report(t, 2, MIXED)  # the newest of each: its DEBUG lines go, it stays
    results: list = []
    errors: list = []
    start = threading.Barrier(2)

    def work():
        try:
            start.wait()
            results.append(prune(10, 1, batch_size=3))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(r.total.reports for r in results) == 3 * 12
    assert sum(r.total.lines for r in results) == 3 * 12 * len(MIXED)
    assert sum(r.total.debug_lines for r in results) == 3 * 4
    assert sum(r.total.debug_reports for r in results) == 3
    assert LaunchReport.objects.count() == 3
    for report in LaunchReport.objects.all():
        assert list(report.logs.order_by("line").values_list("line", "message")) == [
            (0, "0 INFO"),
            (1, "3 WARNING"),
            (2, "5 ERROR"),
            (3, "6 INFO"),
        ]
        assert report.n_log_lines == 4
