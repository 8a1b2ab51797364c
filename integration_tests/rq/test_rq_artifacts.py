"""A file a command attaches on a real RQ worker is in the storage, downloadable through the
admin by a logged-in user, and deleted with its report."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from testsupport.settings import ADMIN_SITE

from .conftest import run_probe_command

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media() -> Iterator[Path]:
    root = Path(settings.MEDIA_ROOT)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def admin_client() -> Iterator[Client]:
    """The test process with Django's admin and the task manager's (the workers need neither);
    sessions in signed cookies, so that no table is needed for them."""
    apps = [*settings.INSTALLED_APPS, "django.contrib.admin", "django.contrib.messages"]
    apps.append("eztaskmanager_admin")
    with override_settings(
        INSTALLED_APPS=apps,
        MIDDLEWARE=ADMIN_SITE["MIDDLEWARE"],
        TEMPLATES=ADMIN_SITE["TEMPLATES"],
        ROOT_URLCONF="integration_tests.rq.artifact_urls",
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    ):
        client = Client()
        client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
        yield client


def test_a_file_attached_on_a_worker_is_stored_downloadable_and_deleted_with_its_report(
    backend, worker, media, admin_client
):
    report = run_probe_command(backend, worker, "artifact_probe")
    assert report.invocation_result == "ok", report.get_log_lines()
    artifact = report.artifacts.get()
    written = f"pid,{report.pid}\n".encode()
    assert report.pid != os.getpid()  # attached in the worker's process
    stored = media / artifact.file.name
    assert stored.read_bytes() == written
    assert (artifact.name, artifact.size) == ("probe.csv", len(written))
    assert artifact.content_type == "text/csv; charset=utf-8"

    url = reverse(
        "admin:eztaskmanager_launchreport_artifact_download", args=[report.pk, artifact.pk]
    )
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="probe.csv"'
    assert b"".join(response.streaming_content) == written
    assert Client().get(url).status_code == 302  # not logged in: to the login page

    report.delete()
    assert not stored.exists()
