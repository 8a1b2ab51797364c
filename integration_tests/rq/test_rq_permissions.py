"""End to end on a real rqworker and rqscheduler: a schedule runs on behalf of the user who
armed it, and ends at its next run once that user may no longer run the task."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group, Permission, User

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.origins import ADMIN, SCHEDULE, Origin

from .conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator(transactional_db) -> User:
    """bob: staff, may start tasks, in the group "ops"."""
    bob = User.objects.create_user("bob", is_staff=True)
    bob.user_permissions.add(Permission.objects.get(codename="run_task"))
    bob.groups.add(Group.objects.create(name="ops"))
    return User.objects.get(pk=bob.pk)  # a fresh instance: no cached permissions


def test_a_schedule_runs_for_who_armed_it_and_ends_when_they_lose_the_right(
    backend, worker, task, operator
):
    t = task("--limit=1, --sleep=0", cron="* * * * *")  # every minute: 2 s on the test clock
    ops = Group.objects.get(name="ops")
    t.command.allowed_groups.add(ops)
    backend.add(t, by=Origin(ADMIN, operator))
    t.refresh_from_db()
    assert (t.status, t.scheduled_by_id) == (Task.STATUS_SCHEDULED, operator.pk)

    def runs() -> list[LaunchReport]:
        return list(t.launchreport_set.exclude(finished_at=None).order_by("invocation_datetime"))

    (first, *_) = wait_for(runs, 30, "a scheduled run", worker)
    assert (first.invocation_result, first.origin, first.started_by_id) == (
        LaunchReport.RESULT_OK,
        SCHEDULE,
        operator.pk,
    )

    operator.groups.remove(ops)
    refused = wait_for(
        lambda: [r for r in runs() if r.invocation_result == LaunchReport.RESULT_FAILED],
        30,
        "a run refused",
        worker,
    )[0]
    assert refused.reason == "Not run: bob, on whose behalf it runs, may no longer run this task."
    assert refused.heartbeat_at is None  # the command never started
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == (Task.STATUS_IDLE, "")
    # The schedule has ended: no run comes after the refused one.
    count = len(runs())
    time.sleep(5)  # two more due times, on the test clock
    assert len(runs()) == count
