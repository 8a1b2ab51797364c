"""The API over real HTTP: ``manage.py runserver`` answering a stdlib client, runs on a real
``rqworker``; a key issued by ``manage.py eztaskmanager_token``; errors as JSON."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission, User

from eztaskmanager.models import LaunchReport
from testsupport.processes import wait_until
from testsupport.tasks import make_task

from .conftest import issue_key

pytestmark = pytest.mark.django_db(transaction=True)
API = "/eztaskmanager/api/v1/"


def operator(username: str = "ops", perms=("view_task", "view_launchreport", "run_task")) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="eztaskmanager", codename__in=perms)
    )
    return user


def read_until_finished(client, lines_url: str, timeout: float, worker) -> tuple[dict, list]:
    """Follow a run's lines by keyset, as a client would, until the run has finished."""
    lines: list[dict] = []
    url, deadline = lines_url, time.monotonic() + timeout
    while True:
        status, page, _h = client.get(url)
        assert status == 200, page
        lines += page["lines"]
        if page["next_url"] is None:
            return page, lines
        assert time.monotonic() < deadline, f"run not finished; worker:\n{worker.output[-3000:]}"
        if not page["has_more"]:
            time.sleep(0.2)
        url = page["next_url"]


def test_list_start_and_follow_a_run(server, rq_worker):
    operator()
    task = make_task(arguments="--limit=30, --trace-steps=1, --sleep=0.02", name="nightly import")
    key = issue_key("ops")
    client = server.client(key)

    status, document, _h = client.get(f"{API}tasks/")
    assert status == 200
    assert [t["name"] for t in document["results"]] == ["nightly import"]

    status, report, headers = client.post(f"{API}tasks/{task.pk}/start/")
    assert status == 201, report
    assert headers["Location"].endswith(f"{API}reports/{report['id']}/")
    assert report["state"] in ("queued", "running", "finished")
    assert report["origin"] == "api" and report["started_by"] == "ops"

    # Small pages: the keyset walk takes several requests, each after the last line read.
    page, lines = read_until_finished(client, f"{report['lines_url']}?limit=7", 60, rq_worker)
    assert page["finished"] is True and page["result"] == "ok"
    assert [line["line"] for line in lines] == list(range(page["log_size"]))
    messages = [line["message"] for line in lines]
    assert messages[0] == "Start" and "30/30" in messages and messages[-1] == "Finished"

    status, detail, _h = client.get(f"{API}reports/{report['id']}/")
    assert status == 200 and detail["worker"] and detail["result"] == "ok"
    status, document, _h = client.get(f"{API}tasks/{task.pk}/")
    assert document["last_run"]["result"] == "ok"


def test_stop_a_run_going_on(server, rq_worker):
    operator()
    task = make_task(arguments="--limit=2000, --trace-steps=1, --sleep=0.05", name="long")
    client = server.client(issue_key("ops"))
    status, report, _h = client.post(f"{API}tasks/{task.pk}/start/")
    assert status == 201, report

    def running() -> bool:
        _s, page, _h = client.get(f"{report['lines_url']}?limit=1")
        return page["state"] == "running" and page["log_size"] > 3

    wait_until(running, 60, "the run to log on the worker", lambda: rq_worker.output[-3000:])
    status, stopped, _h = client.post(f"{API}reports/{report['id']}/stop/")
    assert status == 200, stopped
    assert stopped["state"] in ("stopping", "finished")
    page, _lines = read_until_finished(client, report["lines_url"], 60, rq_worker)
    assert page["result"] == "stopped"
    assert LaunchReport.objects.get(pk=report["id"]).invocation_result == "stopped"
    status, document, _h = client.post(f"{API}reports/{report['id']}/stop/")
    assert status == 409 and "ended" in document["error"]


def test_refusals_are_json(server):
    operator()
    operator("watcher", perms=("view_task",))
    task = make_task(name="guarded")
    someone_elses = LaunchReport.objects.create(task=task, state="finished")
    anonymous = server.client()
    for path in (f"{API}tasks/", f"{API}reports/"):
        status, document, headers = anonymous.get(path)
        assert status == 401 and document["error"]
        assert headers["WWW-Authenticate"].startswith("Bearer")
    status, document, _h = server.client("wrong-key").get(f"{API}tasks/")
    assert status == 401 and "not valid" in document["error"]

    watcher = server.client(issue_key("watcher"))
    status, document, _h = watcher.post(f"{API}tasks/{task.pk}/start/")
    assert status == 403 and document["error"]
    status, document, _h = watcher.get(f"{API}reports/")
    assert status == 403

    ops = server.client(issue_key("ops"))
    status, document, _h = ops.get(f"{API}tasks/999999/")
    assert status == 404 and "999999" in document["error"]
    # A run ops did not start, without view_all_reports: as if it did not exist.
    status, document, _h = ops.get(f"{API}reports/{someone_elses.pk}/")
    assert status == 404
    status, document, _h = ops.request("POST", f"{API}tasks/{task.pk}/start/", form={"not": "json"})
    assert status == 400 and document["error"]
    status, document, _h = ops.get(f"{API}tasks/{task.pk}/start/")
    assert status == 405 and document["error"]
    status, document, _h = ops.get(f"{API}nothing/here/")
    assert status == 404 and document["error"]


def test_a_session_needs_its_csrf_token(server, rq_worker):
    """Logged in through the admin's form, a browser-like client posts with the CSRF token."""
    operator()
    task = make_task(name="from the browser")
    browser = server.client()
    browser.get("/admin/login/")
    token = browser.cookie("csrftoken")
    status, _d, _h = browser.request(
        "POST",
        "/admin/login/?next=/admin/",
        form={"username": "ops", "password": "pw", "csrfmiddlewaretoken": token},
    )
    assert browser.cookie("sessionid"), status
    status, document, _h = browser.get(API)
    assert status == 200 and document["authenticated_by"] == "session"
    status, document, _h = browser.post(f"{API}tasks/{task.pk}/start/")
    assert status == 403 and "CSRF" in document["error"]
    assert not LaunchReport.objects.filter(task=task).exists()
    status, report, _h = browser.post(
        f"{API}tasks/{task.pk}/start/", headers={"X-CSRFToken": browser.cookie("csrftoken")}
    )
    assert status == 201, report
    page, _lines = read_until_finished(browser, report["lines_url"], 60, rq_worker)
    assert page["result"] == "ok"
