"""A report's artifacts in the admin: listed on its page, downloaded only by who may see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.test import Client, override_settings
from django.urls import reverse

from eztaskmanager.models import Artifact, LaunchReport
from eztaskmanager.models.artifacts import artifact_path, artifacts_storage

pytestmark = pytest.mark.django_db

CSV = b"isbn,title\n978,Dune\n"


@pytest.fixture(autouse=True)
def folder(tmp_path: Path):
    stores = {
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "runs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    config = {"BACKEND": "immediate", "ARTIFACTS_STORAGE": "runs"}
    with override_settings(STORAGES=stores, EZTASKMANAGER=config):
        yield tmp_path


def attach(report: LaunchReport, name: str = "summary.csv", content: bytes = CSV) -> Artifact:
    artifact = Artifact(report=report, name=name, size=len(content), content_type="text/csv")
    artifact.file.name = artifacts_storage().save(
        artifact_path(artifact, name), ContentFile(content)
    )
    artifact.save()
    return artifact


def user_with(name: str, *codenames: str) -> User:
    user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True)
    perms = Permission.objects.filter(
        content_type__app_label="eztaskmanager", codename__in=codenames
    )
    user.user_permissions.add(*perms)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def download_url(artifact: Artifact, report_pk: int | None = None) -> str:
    return reverse(
        "admin:eztaskmanager_launchreport_artifact_download",
        args=[report_pk or artifact.report_id, artifact.pk],
    )


def test_the_reports_page_lists_its_artifacts_with_a_download_link(report):
    run = report()
    artifact = attach(run)
    attach(run, "big.bin", b"x" * 2048)
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    page = logged_in(root).get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Artifacts" in html
    assert f'<a href="{download_url(artifact)}" download>summary.csv</a>' in html
    assert "2.0\xa0KB" in html and "big.bin" in html
    assert "text/csv" in html


def test_a_reader_of_reports_sees_them_without_a_permission_on_artifacts(report):
    reader = user_with("reader", "view_launchreport", "view_all_reports")
    run = report()
    attach(run)
    page = logged_in(reader).get(reverse("admin:eztaskmanager_launchreport_change", args=[run.pk]))
    assert page.status_code == 200
    assert "summary.csv" in page.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("superuser", 200),
        ("reads all reports", 200),
        ("started the run", 200),  # no view_all_reports, but it is their run
        ("another user's run", 404),  # no view_all_reports, not their run
        ("staff without view", 404),
    ],
)
def test_who_may_download(report, who, status):
    owner = user_with("owner", "view_launchreport")
    users = {
        "superuser": User.objects.create_superuser("root", "root@example.com", "pw"),
        "reads all reports": user_with("all", "view_launchreport", "view_all_reports"),
        "started the run": owner,
        "another user's run": user_with("other", "view_launchreport"),
        "staff without view": user_with("nobody", "view_task"),
    }
    artifact = attach(report(started_by=owner))
    response = logged_in(users[who]).get(download_url(artifact))
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == CSV
        assert response["Content-Disposition"] == 'attachment; filename="summary.csv"'
        assert response["Content-Type"] == "text/csv"


@pytest.mark.parametrize("client_kind", ["anonymous", "not staff"])
def test_who_is_not_logged_in_as_staff_is_sent_to_the_login(report, client_kind):
    artifact = attach(report())
    client = Client()
    if client_kind == "not staff":
        client.force_login(User.objects.create_user("visitor", "v@example.com", "pw"))
    response = client.get(download_url(artifact))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_artifact_asked_under_another_report_or_without_its_file_is_not_found(report, folder):
    root = logged_in(User.objects.create_superuser("root", "root@example.com", "pw"))
    artifact = attach(report())
    other = report()
    assert root.get(download_url(artifact, report_pk=other.pk)).status_code == 404
    (folder / artifact.file.name).unlink()
    assert root.get(download_url(artifact)).status_code == 404
