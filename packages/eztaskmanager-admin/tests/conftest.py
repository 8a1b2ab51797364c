"""Users for the permission matrix, and a factory of reports (commands and tasks: the shared
``command`` and ``task`` fixtures of ``testsupport.fixtures``)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from eztaskmanager.models import LaunchReport, write_log_rows

ROLES = ["anonymous", "nonstaff", "staff", "permitted", "superuser"]


def make_user(role: str) -> User | None:
    if role == "anonymous":
        return None
    if role == "superuser":
        return User.objects.create_superuser("root", "root@example.com", "pw")
    user = User.objects.create_user(role, f"{role}@example.com", "pw", is_staff=role != "nonstaff")
    if role == "permitted":
        perms = Permission.objects.filter(
            content_type__app_label="eztaskmanager",
            codename__in=[
                "view_launchreport",
                "view_all_reports",  # reports of runs from code and of other users
                "run_task",
                "view_task",
                "change_task",
                "view_processheartbeat",
            ],
        )
        user.user_permissions.add(*perms)
    return user


@pytest.fixture
def client_as(db):
    """``client_as(role, csrf=False)``: a test client logged in as one of ``ROLES``."""

    def make(role: str, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        user = make_user(role)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def report(task):
    """A finished report with ``lines`` as (level, message) pairs."""

    def make(lines=(("INFO", "hello"),), finished: bool = True, **fields) -> LaunchReport:
        owner = fields.pop("task", None) or task()
        report = LaunchReport.objects.create(task=owner, **fields)
        now = time.time()
        write_log_rows(
            report.pk, [(now + i / 1e6, level, msg) for i, (level, msg) in enumerate(lines)]
        )
        report.refresh_from_db()
        if finished:
            report.finish(report.invocation_result or report.result_from_counters())
            owner.compute_cache()
        return report

    return make
