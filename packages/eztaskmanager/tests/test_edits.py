"""What a save sets off in the engine: a task's armed schedule follows its saved fields."""

from datetime import timedelta

import pytest
from django.utils import timezone

from eztaskmanager.exceptions import TaskQueueException
from eztaskmanager.models import Task
from eztaskmanager.services.queues import get_task_service

from .backends import RecordingBackend

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


@pytest.fixture
def backend(settings):
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    return get_task_service()


@pytest.fixture
def armed(task, backend):
    """A periodic task whose schedule the backend booked as sched-1."""
    start = timezone.now() + timedelta(hours=1)
    t = task(LIVE, scheduling=start, repetition_period="hour", repetition_rate=1)
    backend.add(t)
    backend.calls.clear()
    return Task.objects.get(pk=t.pk)


def test_saving_new_schedule_fields_from_code_books_the_schedule_again(armed, backend):
    later = armed.scheduling + timedelta(days=1)
    armed.scheduling = later
    armed.save()
    assert backend.calls == [("unschedule", "sched-1"), ("schedule", "sched-2")]
    armed.refresh_from_db()
    assert (armed.status, armed.scheduled_job_id, armed.cached_next_ride) == (
        "scheduled",
        "sched-2",
        later,
    )


def test_new_arguments_book_it_again_too(armed, backend):
    armed.arguments = "--limit=5"
    armed.save(update_fields=["arguments"])
    assert backend.calls == [("unschedule", "sched-1"), ("schedule", "sched-2")]


def test_a_schedule_that_no_longer_asks_for_one_is_cancelled(armed, backend):
    armed.scheduling = None
    armed.repetition_period, armed.repetition_rate = "", None
    armed.save()
    assert backend.calls == [("unschedule", "sched-1")]
    armed.refresh_from_db()
    assert (armed.status, armed.scheduled_job_id) == ("idle", "")


def test_other_fields_and_unsaved_ones_leave_the_schedule_alone(armed, backend):
    armed.note = "on call: Ann"
    armed.save()
    armed.scheduling += timedelta(days=1)  # changed, but not among the fields saved
    armed.save(update_fields=["note"])
    armed.refresh_from_db()
    armed.save()  # what the database holds, saved again
    assert backend.calls == []
    assert armed.scheduled_job_id == "sched-1"


def test_a_schedule_that_is_not_armed_stays_so(task, backend):
    t = task(LIVE)
    t.scheduling = timezone.now() + timedelta(hours=1)
    t.save()
    assert backend.calls == []
    t.refresh_from_db()
    assert (t.status, t.scheduled_job_id) == ("idle", "")


class DownBackend(RecordingBackend):
    def schedule(self, task):
        raise ConnectionError("Redis is down")


def test_an_engine_that_refuses_is_heard_and_the_fields_are_saved(armed, settings):
    settings.EZTASKMANAGER = {"BACKEND": f"{__name__}.DownBackend"}
    armed.scheduling += timedelta(days=1)
    with pytest.raises(TaskQueueException, match="Redis is down"):
        armed.save()
    assert Task.objects.get(pk=armed.pk).scheduling == armed.scheduling


def test_the_changes_are_counted_from_the_database(armed):
    assert armed.schedule_changes() == set()
    armed.arguments, armed.note = "--limit=1", "x"
    assert armed.schedule_changes() == {"arguments"}
    assert armed.schedule_changes(["note"]) == set()
    assert Task(name="new", arguments="-x").schedule_changes() == {"arguments"}
