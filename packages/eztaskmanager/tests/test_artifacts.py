"""Artifacts: files a run attaches to its report, kept in a storage and deleted with their rows."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from eztaskmanager.artifacts import add_artifact, as_file, clean_artifact_name
from eztaskmanager.models import Artifact, LaunchReport, Task
from eztaskmanager.registry import get_backend

APP = "tests.testapp"


@pytest.fixture
def folder(tmp_path: Path):
    """A storage of its own for artifacts (alias ``artifacts``), in a temporary folder."""
    root = tmp_path / "artifacts"
    config = {
        "BACKEND": "immediate",
        "ARTIFACTS_STORAGE": "artifacts",
        "ARTIFACTS_MAX_SIZE": 10_000,
    }
    stores = {
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    with override_settings(STORAGES=stores, EZTASKMANAGER=config):
        yield root


def run(task, *arguments: str, **fields) -> LaunchReport:
    t = task("sample_artifact", ",".join(arguments), app_name=APP, **fields)
    report = get_backend().add(t)
    report.refresh_from_db()
    return report


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.django_db(transaction=True)  # a thread of the command writes too
def test_each_kind_of_content_is_stored_on_the_runs_report(task, folder):
    kinds = ("bytes", "str", "file", "django-file", "pipe", "thread")
    report = run(task, *(f"--kind={kind}" for kind in kinds))
    assert report.invocation_result == "ok", report.get_log_lines()
    artifacts = {a.name: a for a in report.artifacts.all()}
    assert sorted(artifacts) == sorted(f"{kind}.out" for kind in kinds)
    source = (Path(__file__).parent / "testapp/management/commands/sample_artifact.py").read_bytes()
    expected = {
        "bytes.out": b"\x00\x01",
        "str.out": "isbn,title\n978,Città è\n".encode(),
        "file.out": source,  # from its start, though the command had read some
        "django-file.out": b"from a Django File",
        "pipe.out": b"p" * 1000,
        "thread.out": b"thread",
    }
    for name, content in expected.items():
        artifact = artifacts[name]
        stored = folder / artifact.file.name
        assert stored.read_bytes() == content, name
        assert artifact.size == len(content), name
        assert artifact.file.name == f"eztaskmanager/artifacts/{report.pk}/{name}"
    assert artifacts["file.out"].content_type == "text/x-python"  # as given
    assert artifacts["bytes.out"].content_type == "application/octet-stream"
    assert not (Path.cwd() / "eztaskmanager").exists()  # nothing in the default storage


@pytest.mark.django_db
def test_a_name_is_cleaned_and_a_second_file_of_that_name_kept_apart(task, folder):
    report = run(task, "--kind=bytes", "--kind=str", '--name="../../etc/my report (v2).csv"')
    names = list(report.artifacts.values_list("name", "file"))
    assert [name for name, _file in names] == ["my_report_v2.csv", "my_report_v2.csv"]
    first, second = (file for _name, file in names)
    assert first == f"eztaskmanager/artifacts/{report.pk}/my_report_v2.csv"
    assert second != first and second.startswith(f"eztaskmanager/artifacts/{report.pk}/my_report")
    assert len(files_in(folder)) == 2
    assert report.artifacts.get(file=first).content_type == "text/csv"
    assert report.artifacts.get(file=second).content_type == "text/csv; charset=utf-8"


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("summary.csv", "summary.csv"),
        ("/abs/path/x.txt", "x.txt"),
        ("..\\..\\windows\\evil.bat", "evil.bat"),
        ("a b/c d.txt", "c_d.txt"),
        ("x" * 400 + ".json", "x" * 145 + ".json"),
    ],
)
def test_clean_artifact_name(name, cleaned):
    assert clean_artifact_name(name) == cleaned


@pytest.mark.parametrize("name", ["", "..", "folder/", "???"])
def test_a_name_that_is_no_file_name_is_refused(name):
    with pytest.raises(ValueError, match="is not a file name"):
        clean_artifact_name(name)


def test_content_that_is_not_a_file_is_refused():
    with pytest.raises(TypeError, match="not int"):
        as_file(3, "x", None)
    with pytest.raises(TypeError, match="binary mode"):
        as_file(io.StringIO("text"), "x", None)


@pytest.mark.django_db
def test_a_file_over_the_size_limit_fails_the_run_and_stores_nothing(task, folder):
    report = run(task, "--kind=bytes", "--size=10001")
    assert report.invocation_result == "failed"
    assert "larger (10001 bytes) than" in report.get_log_lines()[-1]
    assert 'EZTASKMANAGER["ARTIFACTS_MAX_SIZE"] (10000 bytes)' in report.get_log_lines()[-1]
    assert not report.artifacts.exists()
    assert files_in(folder) == []
    assert run(task, "--kind=bytes", "--size=10000").artifacts.get().size == 10_000


def test_the_size_of_a_stream_is_counted_as_it_is_read():
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(b"p" * 5000)
    with os.fdopen(read_end, "rb") as reader, pytest.raises(ValueError, match="larger"):
        as_file(reader, "pipe", 4096)


@pytest.mark.django_db
def test_outside_a_run_nothing_is_stored_and_a_warning_says_so(folder, caplog):
    with caplog.at_level(logging.WARNING, logger="eztaskmanager.artifacts"):
        assert add_artifact("from-a-shell.txt", "text") is None
    assert "No run is going on in this thread: artifact 'from-a-shell.txt' is not kept" in (
        caplog.text
    )
    assert not Artifact.objects.exists() and files_in(folder) == []
    with pytest.raises(ValueError, match="larger"):  # checked all the same
        add_artifact("big.bin", b"x" * 10_001)


# Files go with their rows --------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_pruning_a_tasks_reports_deletes_their_files(task, folder):
    with override_settings(
        EZTASKMANAGER={"BACKEND": "immediate", "ARTIFACTS_STORAGE": "artifacts", "REPORTS_KEPT": 1}
    ):
        t = task("sample_artifact", "--kind=bytes", app_name=APP)
        first = get_backend().add(t)
        kept = folder / first.artifacts.get().file.name
        assert kept.exists()
        second = get_backend().add(Task.objects.get(pk=t.pk))  # the runner prunes the first
    assert not LaunchReport.objects.filter(pk=first.pk).exists()
    assert not kept.exists()
    assert files_in(folder) == [second.artifacts.get().file.name]


@pytest.mark.django_db(transaction=True)
def test_task_prune_reports_queryset_delete_fires_the_receiver(task, folder):
    t = task("sample_artifact", "--kind=str,--kind=bytes", app_name=APP)
    for _ in range(3):
        get_backend().add(Task.objects.get(pk=t.pk))
    assert len(files_in(folder)) == 6
    assert Task.objects.get(pk=t.pk).prune_reports(1)  # Task.prune_reports: a queryset delete
    newest = t.launchreport_set.get()
    assert files_in(folder) == sorted(newest.artifacts.values_list("file", flat=True))


@pytest.mark.django_db(transaction=True)
def test_deleting_a_report_or_a_task_deletes_the_files(task, folder):
    report = run(task, "--kind=bytes")
    other = run(task, "--kind=str", name="other")
    report.delete()
    assert files_in(folder) == [other.artifacts.get().file.name]
    other.task.delete()
    assert files_in(folder) == []


@pytest.mark.django_db(transaction=True)
def test_a_delete_rolled_back_keeps_the_file(task, folder):
    report = run(task, "--kind=bytes")
    name = report.artifacts.get().file.name
    with pytest.raises(RuntimeError), transaction.atomic():
        LaunchReport.objects.filter(pk=report.pk).delete()
        assert not Artifact.objects.exists()
        assert (folder / name).exists()  # not before the commit
        raise RuntimeError("rolled back")
    assert Artifact.objects.get().file.name == name
    assert (folder / name).exists()


@pytest.mark.django_db(transaction=True)
def test_a_storage_that_fails_leaves_the_file_and_a_warning_not_the_report(task, folder, caplog):
    report = run(task, "--kind=bytes")
    name = report.artifacts.get().file.name
    broken = {"BACKEND": "immediate", "ARTIFACTS_STORAGE": "no-such-alias"}
    with override_settings(EZTASKMANAGER=broken), caplog.at_level(logging.WARNING):
        report.delete()
    assert not LaunchReport.objects.filter(pk=report.pk).exists()
    assert f"Could not delete artifact file {name}" in caplog.text
    assert (folder / name).exists()


@pytest.mark.django_db(transaction=True)
def test_the_model_field_reads_from_the_storage_the_settings_name_now(task, folder):
    """The field's storage is built once, when the model loads; it follows the settings."""
    report = run(task, "--kind=bytes")
    artifact = report.artifacts.get()
    assert (folder / artifact.file.name).is_file()
    with artifact.file.open("rb") as handle:
        assert handle.read() == (folder / artifact.file.name).read_bytes()
    assert artifact.file.storage.location == str(folder)
