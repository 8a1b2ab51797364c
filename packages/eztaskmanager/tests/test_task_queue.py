"""A queue per task: the base backend takes a task's queue from a backend's list, or as it is."""

import pytest

from eztaskmanager.exceptions import TaskNotRunnable
from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend

from .backends import RecordingBackend

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


class TwoQueues(RecordingBackend):
    def queue_names(self):
        return ["default", "heavy"]


def test_a_task_has_no_queue_of_its_own_by_default(task):
    assert task(LIVE).queue == ""


def test_a_backend_without_a_list_takes_any_queue(task):
    report = get_backend().add(task(LIVE, "--limit=1,--sleep=0", queue="heavy"))
    assert get_backend().queue_names() == []
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_OK


@pytest.mark.parametrize("queue", ["", "default", "heavy"])
def test_a_backend_with_a_list_takes_its_queues_and_the_default(task, queue):
    backend = TwoQueues()
    t = task(LIVE, queue=queue)
    report = backend.add(t)
    assert backend.calls == [("enqueue", t.pk, report.job_id)]


def test_a_backend_with_a_list_refuses_another_queue_and_says_which_it_has(task):
    backend = TwoQueues()
    t = task(LIVE, queue="gpu")
    with pytest.raises(TaskNotRunnable) as refused:
        backend.add(t)
    message = str(refused.value)
    assert "'gpu'" in message and "default, heavy" in message
    assert backend.calls == []
    t.refresh_from_db()
    assert t.status == Task.STATUS_IDLE
    assert not LaunchReport.objects.exists()
