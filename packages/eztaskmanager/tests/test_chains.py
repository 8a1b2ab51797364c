"""Chains: a task that follows another starts when that one ends, as its result allows."""

import pytest
from django.core.exceptions import ValidationError

from eztaskmanager.models import LaunchReport, Task
from eztaskmanager.registry import get_backend
from eztaskmanager.services.chains import start_followers

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"
QUICK = "--limit=1,--sleep=0"


def runs(task):
    return list(LaunchReport.objects.filter(task=task).order_by("pk"))


def test_followers_start_as_the_result_allows(task):
    first = task(LIVE, QUICK, name="first")
    on_ok = task(LIVE, QUICK, name="on ok", follows=first)
    on_any = task(LIVE, QUICK, name="on any", follows=first, follows_on="any")
    then = task(LIVE, QUICK, name="then", follows=on_ok)
    get_backend().add(first)  # the immediate backend: the whole chain runs now
    assert [len(runs(t)) for t in (first, on_ok, on_any, then)] == [1, 1, 1, 1]
    [started] = runs(on_ok)
    assert started.invocation_result == "ok"
    assert started.get_log_lines()[0].endswith("Started after first ended: OK.")
    assert runs(then)[0].get_log_lines()[0].endswith("Started after on ok ended: OK.")

    failing = task("test_failing_command", name="failing")
    Task.objects.filter(pk__in=[on_ok.pk, on_any.pk]).update(follows=failing)
    get_backend().add(failing)
    assert runs(failing)[0].invocation_result == "failed"
    assert [len(runs(t)) for t in (on_ok, on_any, then)] == [1, 2, 1]
    assert runs(on_any)[1].get_log_lines()[0].endswith("Started after failing ended: FAILED.")


def test_a_follower_still_running_is_not_started_twice(task):
    first = task(LIVE, QUICK, name="first")
    follower = task(LIVE, QUICK, name="follower", follows=first)
    running = follower.queue_run("job-1")
    LaunchReport.objects.start_run(follower.pk, "job-1")
    get_backend().add(first)
    assert runs(follower) == [running]
    assert running.get_log_lines()[-1].endswith(
        "A run after first (OK) was skipped: this run was still going on."
    )


def test_a_follower_starts_now_through_the_backend(task, settings):
    first = task(LIVE, QUICK, name="first")
    follower = task(LIVE, QUICK, name="follower", follows=first)
    ended = first.queue_run("job-1")
    settings.EZTASKMANAGER = {"BACKEND": "tests.backends.RecordingBackend"}
    ended.finish("ok")  # its run_finished receiver starts the follower
    [queued] = runs(follower)
    assert get_backend().calls == [("enqueue", follower.pk, queued.job_id)]
    assert (queued.state, Task.objects.get(pk=follower.pk).status) == ("queued", "spooled")
    assert start_followers(ended) == 0  # queued already: not a second run


def test_a_chain_may_not_loop(task):
    a = task(LIVE, QUICK, name="a")
    b = task(LIVE, QUICK, name="b", follows=a)
    c = task(LIVE, QUICK, name="c", follows=b)
    a.follows = c
    with pytest.raises(ValidationError) as caught:
        a.full_clean()
    assert "c starts after this task already" in caught.value.message_dict["follows"][0]
    a.follows = a
    with pytest.raises(ValidationError):
        a.full_clean()
    a.follows = None
    a.full_clean()
    # A loop saved anyway (two edits at once) never starts runs for ever.
    Task.objects.filter(pk=a.pk).update(follows=c)
    get_backend().add(a)
    assert [len(runs(t)) for t in (a, b, c)] == [1, 0, 0]


def test_deleting_the_task_followed_leaves_the_follower(task):
    first = task(LIVE, QUICK, name="first")
    follower = task(LIVE, QUICK, name="follower", follows=first)
    first.delete()
    follower.refresh_from_db()
    assert follower.follows is None
