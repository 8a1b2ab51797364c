"""Run now with...: one run with other arguments, the task and its schedule left as they are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.arguments import InvalidArguments
from eztaskmanager.exceptions import TaskAlreadyRunning
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.models.tasks import ARGUMENTS_MAX_LENGTH
from eztaskmanager.registry import get_backend

from .backends import RecordingBackend

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
QUIET = "--limit=1,--sleep=0"
WARNING = "--limit=2,--sleep=0,--warning-prob=1"


def test_a_run_with_other_arguments_runs_them_and_records_them(task):
    t = task(LIVE, QUIET)
    report = get_backend().run_once(t, WARNING)  # the immediate backend: it has run
    report.refresh_from_db()
    assert (report.state, report.invocation_result) == ("finished", "warnings")
    assert (report.arguments, report.ran_arguments, report.custom_arguments) == (
        WARNING,
        WARNING,
        True,
    )
    assert report.n_log_warnings == 2
    t.refresh_from_db()
    assert (t.arguments, t.status) == (QUIET, "idle")
    # The task's next run is its own again.
    plain = get_backend().run_once(t)
    plain.refresh_from_db()
    assert (plain.invocation_result, plain.arguments, plain.custom_arguments) == (
        "ok",
        QUIET,
        False,
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("--limit=many", "invalid int value"),
        ("--no-such-option", "unrecognized arguments"),
        ('--limit="1', "Cannot read the arguments"),
        ("--help", "would stop the command"),
        ("x" * (ARGUMENTS_MAX_LENGTH + 1), "at most"),
    ],
)
def test_arguments_the_command_refuses_start_nothing(task, arguments, message):
    t = task(LIVE, QUIET)
    with pytest.raises(InvalidArguments, match=message):
        get_backend().run_once(t, arguments)
    assert not LaunchReport.objects.exists()
    assert Task.objects.get(pk=t.pk).status == "idle"


def test_a_queued_run_keeps_its_own_arguments_when_the_task_changes(task):
    backend = RecordingBackend()
    t = task(LIVE, QUIET)
    report = backend.run_once(t, WARNING)
    assert backend.calls == [("enqueue", t.pk, report.job_id)]
    Task.objects.filter(pk=t.pk).update(arguments="--limit=7")
    started = LaunchReport.objects.start_run(t.pk, report.job_id)
    assert (started.arguments, started.args) == (
        WARNING,
        ["--limit=2", "--sleep=0", "--warning-prob=1"],
    )
    assert LaunchReport.objects.get(pk=report.pk).arguments == WARNING


def test_a_scheduled_task_runs_once_now_and_keeps_its_schedule(task):
    backend = RecordingBackend()
    t = task(
        LIVE,
        QUIET,
        scheduling=timezone.now() + timedelta(hours=1),
        repetition_period="hour",
        repetition_rate=1,
    )
    backend.add(t)
    t.refresh_from_db()
    armed = (t.scheduled_job_id, t.cached_next_ride)
    report = backend.run_once(t, WARNING)
    assert report.state == "queued"
    t.refresh_from_db()
    assert (t.scheduled_job_id, t.cached_next_ride, t.status) == (*armed, "spooled")
    # One run at a time, as Start.
    with pytest.raises(TaskAlreadyRunning):
        backend.run_once(t, QUIET)
