"""The rule of who may run a task (:mod:`eztaskmanager.permissions`), as the services apply
it: to users who start and stop runs, and to the runs that schedules and chains start on
a user's behalf, at their start."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from eztaskmanager.exceptions import TaskNotAllowed
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.origins import ADMIN, CHAIN, SCHEDULE, Origin
from eztaskmanager.permissions import (
    check_run,
    command_allows,
    may_run,
    only_runs_of,
    visible_reports,
)
from eztaskmanager.registry import get_backend
from eztaskmanager.services.runner import run_management_command

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
QUICK = "--limit=1,--sleep=0"


def user(name: str, run_task: bool = True, groups=(), **fields) -> User:
    made = User.objects.create_user(name, **fields)
    if run_task:
        made.user_permissions.add(Permission.objects.get(codename="run_task"))
    made.groups.add(*groups)
    return User.objects.get(pk=made.pk)  # a fresh one: no cached permissions


@pytest.fixture
def ops():
    return Group.objects.create(name="ops")


@pytest.fixture
def restricted(task, ops):
    """A task whose command only the group ``ops`` may run."""
    t = task(LIVE, QUICK, name="restricted")
    t.command.allowed_groups.add(ops)
    return Task.objects.select_related("command").get(pk=t.pk)


# Who: (factory, may run an open command, may run the restricted one)
ROLES = {
    "superuser": (lambda ops: user("root", run_task=False, is_superuser=True), True, True),
    "member": (lambda ops: user("member", groups=[ops]), True, True),
    "outsider": (
        lambda ops: user("outsider", groups=[Group.objects.create(name="x")]),
        True,
        False,
    ),
    "no run_task, in the group": (
        lambda ops: user("norun", run_task=False, groups=[ops]),
        False,
        False,
    ),
    "inactive member": (lambda ops: user("gone", groups=[ops], is_active=False), False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_may_run_matrix(task, restricted, ops, role):
    make, open_ok, restricted_ok = ROLES[role]
    who = make(ops)
    open_task = task("test_stdout_command", name="open")
    assert may_run(who, open_task) is open_ok
    assert may_run(who, restricted) is restricted_ok
    assert command_allows(who, open_task.command)  # no groups: open to all
    if restricted_ok:
        check_run(who, restricted)
    else:
        with pytest.raises(TaskNotAllowed, match="may not run restricted"):
            check_run(who, restricted)
    assert may_run(None, open_task) is False


def test_the_service_refuses_a_user_who_may_not_and_starts_for_one_who_may(restricted, ops):
    outsider, member = user("outsider"), user("member", groups=[ops])
    with pytest.raises(TaskNotAllowed):
        get_backend().add(restricted, by=Origin(ADMIN, outsider))
    with pytest.raises(TaskNotAllowed):
        get_backend().run_once(restricted, "--limit=2", by=Origin(ADMIN, outsider))
    assert not LaunchReport.objects.filter(task=restricted).exists()
    report = get_backend().add(restricted, by=Origin(ADMIN, member))
    report.refresh_from_db()
    assert (report.invocation_result, report.origin, report.started_by_id) == (
        "ok",
        ADMIN,
        member.pk,
    )


def test_a_schedule_armed_by_a_user_who_later_leaves_the_group_ends_at_its_next_run(
    restricted, ops, settings
):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    member = user("member", groups=[ops])
    restricted.scheduling = timezone.now() + timedelta(hours=1)
    restricted.repetition_period = Task.REPETITION_PERIOD_CHOICES[0][0]
    restricted.repetition_rate = 1
    restricted.save()
    assert get_backend().add(restricted, by=Origin(ADMIN, member)) is None
    restricted.refresh_from_db()
    handle = restricted.scheduled_job_id
    assert handle and restricted.scheduled_by_id == member.pk

    # Due while the member may run it: the schedule's run starts on their behalf.
    # The engine fires each occurrence as a job of its own.
    first = run_management_command(restricted.pk, f"{handle}-1")
    assert (first.invocation_result, first.origin, first.started_by_id) == (
        "ok",
        SCHEDULE,
        member.pk,
    )
    restricted.refresh_from_db()
    assert restricted.scheduled_job_id == handle

    member.groups.remove(ops)
    assert run_management_command(restricted.pk, f"{handle}-2") is None
    refused = LaunchReport.objects.filter(task=restricted).latest("pk")
    assert refused.pk != first.pk
    assert refused.invocation_result == "failed"
    assert (
        refused.reason == "Not run: member, on whose behalf it runs, may no longer run this task."
    )
    restricted.refresh_from_db()
    assert (restricted.scheduled_job_id, restricted.status) == ("", Task.STATUS_IDLE)


def test_a_chain_does_not_start_a_follower_that_its_user_may_not_run(task, restricted, ops, caplog):
    outsider = user("outsider")
    first = task("test_stdout_command", "--lines=1", name="first")  # open to every runner
    Task.objects.filter(pk=restricted.pk).update(follows=first)
    with caplog.at_level(logging.WARNING, logger="eztaskmanager.services.chains"):
        report = get_backend().add(first, by=Origin(ADMIN, outsider))
    report.refresh_from_db()
    assert report.invocation_result == "ok"
    assert not LaunchReport.objects.filter(task=restricted).exists()
    assert "outsider may not run restricted" in caplog.text

    # The same chain started by a member of the group runs the follower, on their behalf.
    member = user("member", groups=[ops])
    get_backend().add(first, by=Origin(ADMIN, member))
    [follower] = LaunchReport.objects.filter(task=restricted)
    assert (follower.origin, follower.started_by_id, follower.invocation_result) == (
        CHAIN,
        member.pk,
        "ok",
    )


# Who may read which reports --------------------------------------------------------------
def test_a_reader_without_view_all_reports_sees_only_the_reports_of_their_runs(task):
    reader = user("reader", run_task=False)
    everyone = user("everyone", run_task=False)
    everyone.user_permissions.add(Permission.objects.get(codename="view_all_reports"))
    everyone = User.objects.get(pk=everyone.pk)
    t = task()
    theirs = LaunchReport.objects.create(task=t, started_by=reader)
    others = LaunchReport.objects.create(task=t, started_by=everyone)
    legacy = LaunchReport.objects.create(task=t)

    assert only_runs_of(reader) == reader.pk
    assert list(visible_reports(reader, LaunchReport.objects.all())) == [theirs]
    assert only_runs_of(everyone) is None
    assert set(visible_reports(everyone, LaunchReport.objects.all())) == {theirs, others, legacy}


def test_an_anonymous_user_sees_no_report_not_even_those_no_one_started(task):
    t = task()
    LaunchReport.objects.create(task=t)  # a run from before runs had a starter
    LaunchReport.objects.create(task=t, started_by=user("someone", run_task=False))
    assert not visible_reports(AnonymousUser(), LaunchReport.objects.all()).exists()
    with pytest.raises(PermissionDenied):
        only_runs_of(AnonymousUser())
