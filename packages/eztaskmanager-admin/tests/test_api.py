"""The JSON API (``eztaskmanager_admin.api``): every endpoint, the permission matrix of roles
and credentials, bad input, CSRF, protected and secret arguments, keyset reads of lines."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from eztaskmanager.models import ApiToken, Artifact, AuditEvent, LaunchReport, Task
from testsupport.net import free_port

API = "/eztaskmanager/api/v1/"
VIEW = ["view_task", "view_launchreport"]
# Roles of the matrix: how each authenticates, and its permissions.
ROLE_PERMS = {
    "staff": [],
    "viewer": [*VIEW, "view_all_reports"],
    "runner_elsewhere": [*VIEW, "view_all_reports", "run_task"],
    "runner": [*VIEW, "run_task"],
}


def make_user(username: str, perms=(), staff=True, active=True, superuser=False) -> User:
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", "pw")
    user = User.objects.create_user(
        username, f"{username}@example.com", "pw", is_staff=staff, is_active=active
    )
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="eztaskmanager", codename__in=perms)
    )
    return user


def bearer(key: str, csrf: bool = True) -> Client:
    """A client that sends ``Authorization: Bearer <key>`` (and enforces CSRF, as a browser would)."""
    return Client(enforce_csrf_checks=csrf, HTTP_AUTHORIZATION=f"Bearer {key}")


def token_client(user: User) -> Client:
    _token, key = ApiToken.objects.issue(user, "tests")
    return bearer(key)


def call(client: Client, method: str, url: str, body=None):
    """A request, and its JSON document (every answer of the API but a download is JSON)."""
    if method == "POST":
        data = "" if body is None else json.dumps(body)
        response = client.post(url, data, content_type="application/json")
    else:
        response = getattr(client, method.lower())(url)
    if response.get("Content-Type", "").startswith("application/json"):
        return response, response.json()
    return response, None


@pytest.fixture
def group_command(command):
    """The command the matrix's tasks run, that only the group ``operators`` may run."""
    cmd = command("test_livelogging_command")
    cmd.allowed_groups.add(Group.objects.create(name="operators"))
    return cmd


@pytest.fixture
def world(db, task, group_command, tmp_path, settings):
    """A task to start, a task with a queued run (started by the superuser), its artifact."""
    settings.MEDIA_ROOT = str(tmp_path)
    root = make_user("root", superuser=True)
    startable = task(group_command, "--limit=2,--sleep=0", name="startable")
    busy = task(group_command, "--limit=2,--sleep=0", name="busy")
    report = LaunchReport.objects.create(
        task=busy, state=LaunchReport.STATE_QUEUED, queued_at=timezone.now(), started_by=root
    )
    artifact = Artifact(report=report, name="out.csv", content_type="text/csv", size=4)
    artifact.file.save("out.csv", ContentFile(b"a,b\n"), save=True)
    return {
        "root": root,
        "startable": startable,
        "busy": busy,
        "report": report,
        "artifact": artifact,
    }


def endpoints(world) -> dict[str, tuple[str, str]]:
    """Every URL of the API, as (method, path), for the matrix."""
    start, busy = world["startable"].pk, world["busy"].pk
    report, artifact = world["report"].pk, world["artifact"].pk
    return {
        "index": ("GET", API),
        "task_list": ("GET", f"{API}tasks/"),
        "task_detail": ("GET", f"{API}tasks/{start}/"),
        "task_start": ("POST", f"{API}tasks/{start}/start/"),
        "task_stop": ("POST", f"{API}tasks/{busy}/stop/"),
        "report_list": ("GET", f"{API}reports/"),
        "report_detail": ("GET", f"{API}reports/{report}/"),
        "report_lines": ("GET", f"{API}reports/{report}/lines/"),
        "report_stop": ("POST", f"{API}reports/{report}/stop/"),
        "artifact": ("GET", f"{API}reports/{report}/artifacts/{artifact}/"),
    }


ALL = [
    "index",
    "task_list",
    "task_detail",
    "task_start",
    "task_stop",
    "report_list",
    "report_detail",
    "report_lines",
    "report_stop",
    "artifact",
]


def expect(default: int, **codes: int) -> dict[str, int]:
    return {name: codes.get(name, default) for name in ALL}


# The expected status of each endpoint for each role (the admin's rules):
MATRIX = {
    "anonymous": expect(401),
    "bad_token": expect(401),
    "inactive_token": expect(401),
    "nonstaff_token": expect(403),
    # Staff without permissions: may only ask who they are.
    "staff": expect(403, index=200),
    # May look (every report), not start or stop.
    "viewer": expect(200, task_start=403, task_stop=403, report_stop=403),
    # May run tasks, but the command is for the group "operators" only.
    "runner_elsewhere": expect(200, task_start=403, task_stop=403, report_stop=403),
    # An operator without view_all_reports: the superuser's run is not theirs to see.
    "runner": expect(
        200, task_start=201, report_detail=404, report_lines=404, report_stop=404, artifact=404
    ),
    "superuser": expect(200, task_start=201),
}


def client_for(role: str, world) -> Client:
    if role == "anonymous":
        return Client(enforce_csrf_checks=True)
    if role == "bad_token":
        return bearer("not-a-key-of-anyone")
    if role == "inactive_token":
        return token_client(make_user("gone", [*VIEW, "run_task"], active=False))
    if role == "nonstaff_token":
        return token_client(make_user("outsider", [*VIEW, "run_task"], staff=False))
    if role == "superuser":
        return token_client(world["root"])
    user = make_user(role, ROLE_PERMS[role])
    if role == "runner":
        user.groups.add(Group.objects.get(name="operators"))
    return token_client(user)


@pytest.mark.parametrize("endpoint", ALL)
@pytest.mark.parametrize("role", list(MATRIX))
def test_permission_matrix(world, role, endpoint):
    client = client_for(role, world)
    method, url = endpoints(world)[endpoint]
    response, document = call(client, method, url)
    assert response.status_code == MATRIX[role][endpoint], (role, endpoint, document)
    if response.status_code >= 400:
        assert set(document) >= {"error"} and document["error"], document
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert "no-cache" in response.get("Cache-Control", "") or endpoint == "artifact"


def test_matrix_results_are_what_each_role_may_see(world):
    """Beyond status codes: the runner lists only their runs; the viewer every run."""
    runner_client = client_for("runner", world)
    _r, document = call(runner_client, "GET", f"{API}reports/")
    assert document["results"] == []
    _r, started = call(runner_client, "POST", f"{API}tasks/{world['startable'].pk}/start/")
    _r, document = call(runner_client, "GET", f"{API}reports/")
    assert [r["id"] for r in document["results"]] == [started["id"]]
    _r, document = call(client_for("viewer", world), "GET", f"{API}reports/")
    assert {r["id"] for r in document["results"]} == {started["id"], world["report"].pk}


def test_session_and_csrf(world):
    """A logged-in staff member uses the API from the browser: GET as is, POST with CSRF."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["root"])
    response, document = call(client, "GET", API)
    assert response.status_code == 200
    assert document["authenticated_by"] == "session"
    url = f"{API}tasks/{world['startable'].pk}/start/"
    response, document = call(client, "POST", url)
    assert response.status_code == 403
    assert "CSRF" in document["error"]
    assert not world["startable"].launchreport_set.exists()
    client.cookies["csrftoken"] = "a" * 32
    response = client.post(url, "", content_type="application/json", HTTP_X_CSRFTOKEN="a" * 32)
    assert response.status_code == 201, response.content


def test_a_token_needs_no_csrf_and_is_recorded(world):
    token, key = ApiToken.objects.issue(world["root"], "ci")
    response, document = call(bearer(key), "POST", f"{API}tasks/{world['startable'].pk}/start/")
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver{API}reports/{document['id']}/"
    assert document["origin"] == "api"
    assert document["started_by"] == "root"
    assert document["state"] == "finished" and document["result"] == "ok"
    token.refresh_from_db()
    assert token.last_used_at is not None
    event = AuditEvent.objects.get(action="started", task_id=world["startable"].pk)
    assert (event.source, event.user_id) == ("api", world["root"].pk)


def test_a_revoked_token_stops_working(world):
    token, key = ApiToken.objects.issue(world["root"])
    assert bearer(key).get(API).status_code == 200
    token.delete()
    assert bearer(key).get(API).status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer ").get(API).status_code == 401


@pytest.fixture
def root(world):
    return token_client(world["root"])


def test_task_list_filters_and_keyset_pages(root, world, task, command):
    other = command("test_stdout_command")
    from eztaskmanager.models import TaskCategory

    nightly = TaskCategory.objects.create(name="nightly")
    made = [task(other, "--lines=1", name=f"t{i}", category=nightly) for i in range(5)]
    url, seen = f"{API}tasks/?category=nightly&limit=2", []
    while url:
        response, document = call(root, "GET", url)
        assert response.status_code == 200
        assert len(document["results"]) <= 2
        seen += [t["id"] for t in document["results"]]
        url = document["next"]
        assert url is None or "category=nightly" in url
    assert seen == [t.pk for t in made]
    _r, document = call(root, "GET", f"{API}tasks/?category={nightly.pk}&limit=500")
    assert len(document["results"]) == 5
    _r, document = call(root, "GET", f"{API}tasks/?command=test_livelogging_command")
    assert {t["name"] for t in document["results"]} == {"startable", "busy"}
    _r, document = call(root, "GET", f"{API}tasks/?status=idle&command=test_stdout_command")
    assert len(document["results"]) == 5
    first = document["results"][0]
    assert first["command"] == {
        "id": other.pk,
        "app_name": "eztaskmanager",
        "name": "test_stdout_command",
    }
    assert first["category"] == {"id": nightly.pk, "name": "nightly"}


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "limit=0", "limit=x", "after=-1", "after=1.5"],
)
def test_task_list_bad_parameters_are_400(root, query):
    response, document = call(root, "GET", f"{API}tasks/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in document["error"]


def test_task_detail(root, world, task, command):
    secret = task(
        command("test_livelogging_command"),
        "--limit=1",
        name="with secret",
        secret_arguments="--sleep=0",
        protected=True,
    )
    _r, document = call(root, "GET", f"{API}tasks/{secret.pk}/")
    assert document["secret_arguments"] == "***"
    assert document["arguments"] == "--limit=1"
    assert document["protected"] is True
    assert document["may_run"] is True
    assert document["schedule"]["periodic"] is False
    assert document["last_run"] is None
    # The secret itself is nowhere in the answer.
    response = root.get(f"{API}tasks/{secret.pk}/")
    assert b"--sleep=0" not in response.content
    _r, document = call(root, "GET", f"{API}tasks/{world['startable'].pk}/")
    assert document["secret_arguments"] == ""
    response, document = call(root, "GET", f"{API}tasks/999999/")
    assert response.status_code == 404 and "999999" in document["error"]


def test_task_detail_last_run_and_may_run(world):
    runner = make_user("runner2", [*VIEW, "run_task"])
    client = token_client(runner)
    startable = world["startable"]
    _r, document = call(client, "GET", f"{API}tasks/{startable.pk}/")
    assert document["may_run"] is False  # not in the command's group
    runner.groups.add(Group.objects.get(name="operators"))
    _r, started = call(client, "POST", f"{API}tasks/{startable.pk}/start/")
    _r, document = call(client, "GET", f"{API}tasks/{startable.pk}/")
    assert document["may_run"] is True
    assert document["last_run"]["result"] == "ok"
    assert document["last_run"]["report"]["id"] == started["id"]
    # The superuser's run is the last one now: its figures show, its report does not.
    call(token_client(world["root"]), "POST", f"{API}tasks/{startable.pk}/start/")
    _r, document = call(client, "GET", f"{API}tasks/{startable.pk}/")
    assert document["last_run"]["result"] == "ok"
    assert "report" not in document["last_run"]


def test_protected_task_needs_confirmation(root, world):
    task = world["startable"]
    task.protected = True
    task.save()
    url = f"{API}tasks/{task.pk}/start/"
    response, document = call(root, "POST", url)
    assert response.status_code == 409
    assert document["confirmation_required"] is True
    assert "test_livelogging_command" in document["error"] and "--limit=2" in document["error"]
    assert not task.launchreport_set.exists()
    response, document = call(root, "POST", url, {"confirm": "yes"})
    assert response.status_code == 400
    response, document = call(root, "POST", url, {"confirm": True})
    assert response.status_code == 201 and document["result"] == "ok"


def test_start_with_other_arguments(root, world):
    url = f"{API}tasks/{world['startable'].pk}/start/"
    arguments = "--limit=4, --trace-steps=2, --sleep=0"
    response, document = call(root, "POST", url, {"arguments": arguments})
    assert response.status_code == 201
    assert document["custom_arguments"] is True
    assert document["arguments"] == arguments
    _r, lines = call(root, "GET", document["lines_url"])
    assert lines["finished"] is True
    # The command ran with them: it traced every second of its four steps.
    assert [line["message"] for line in lines["lines"]] == ["Start", "2/4", "4/4", "Finished"]
    world["startable"].refresh_from_db()
    assert world["startable"].arguments == "--limit=2,--sleep=0"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"arguments": 5}', "arguments"),
        ('{"arguments": "--no-such-option"}', "no-such-option"),
    ],
)
def test_start_bad_input_is_400(root, world, body, words):
    url = f"{API}tasks/{world['startable'].pk}/start/"
    response = root.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert words in response.json()["error"]
    assert not world["startable"].launchreport_set.exists()


def test_start_while_running_is_409(root, world):
    response, document = call(root, "POST", f"{API}tasks/{world['busy'].pk}/start/")
    assert response.status_code == 409
    assert document["error"]


def test_start_inactive_command_is_409(root, world, task, command):
    idle = task(command("test_stdout_command", active=False), "--lines=1", name="off")
    response, document = call(root, "POST", f"{API}tasks/{idle.pk}/start/")
    assert response.status_code == 409, document


@override_settings(EZTASKMANAGER={"BACKEND": "tests.backends.SchedulingBackend"})
def test_start_a_scheduled_task_is_202(root, world):
    task = world["startable"]
    task.scheduling = timezone.now() + timedelta(hours=1)
    task.save()
    response, document = call(root, "POST", f"{API}tasks/{task.pk}/start/")
    assert response.status_code == 202
    assert document["scheduled"] is True
    next_run = parse_datetime(document["next_run"])
    assert abs(next_run - task.scheduling) < timedelta(milliseconds=1)
    assert document["task"]["status"] == Task.STATUS_SCHEDULED
    response, document = call(root, "POST", f"{API}tasks/{task.pk}/stop/")
    assert document == {"stopped": 0, "stopping": 0, "unscheduled": True, "nothing": False}


def test_an_unreachable_engine_is_503(root, world):
    """A real RQ client pointed at a port nothing listens on."""
    config = {
        "BACKEND": "rq",
        "OPTIONS": {"queue": "api-tests", "url": f"redis://127.0.0.1:{free_port()}/0"},
    }
    with override_settings(EZTASKMANAGER=config):
        response, document = call(root, "POST", f"{API}tasks/{world['startable'].pk}/start/")
    assert response.status_code == 503, document
    assert document["error"]


def test_stop_task_and_report(root, world):
    busy, report = world["busy"], world["report"]
    response, document = call(root, "POST", f"{API}reports/{report.pk}/stop/")
    assert response.status_code == 200
    assert document["state"] == "finished"
    assert document["report"]["result"] == "stopped"
    response, document = call(root, "POST", f"{API}reports/{report.pk}/stop/")
    assert response.status_code == 409 and "ended" in document["error"]
    response, document = call(root, "POST", f"{API}tasks/{busy.pk}/stop/")
    assert document == {"stopped": 0, "stopping": 0, "unscheduled": False, "nothing": True}
    assert AuditEvent.objects.filter(action="stopped", report=report, source="api").exists()


def test_a_backend_that_cannot_stop_a_running_run_is_a_conflict(root, world):
    """The immediate backend (these tests') runs in the request: it has nothing to stop."""
    report = world["report"]
    LaunchReport.objects.filter(pk=report.pk).update(state="running")  # a worker took it
    response, document = call(root, "POST", f"{API}reports/{report.pk}/stop/")
    assert response.status_code == 409, document
    assert "cannot stop a running task" in document["error"]
    response, document = call(root, "POST", f"{API}tasks/{world['busy'].pk}/stop/")
    assert response.status_code == 409, document


def test_report_list_filters_and_pages(root, world, report):
    made = [report(task=world["startable"]) for _ in range(3)]
    failed = report(task=world["startable"], invocation_result="failed")
    _r, document = call(root, "GET", f"{API}reports/?task={world['startable'].pk}&limit=2")
    ids = [r["id"] for r in document["results"]]
    _r, document = call(root, "GET", document["next"])
    ids += [r["id"] for r in document["results"]]
    assert document["next"] is None
    assert ids == sorted([r.pk for r in [*made, failed]], reverse=True)
    _r, document = call(root, "GET", f"{API}reports/?result=failed")
    assert [r["id"] for r in document["results"]] == [failed.pk]
    _r, document = call(root, "GET", f"{API}reports/?state=queued")
    assert [r["id"] for r in document["results"]] == [world["report"].pk]
    for query in ("task=x", "state=done", "result=great", "before=-3"):
        response, document = call(root, "GET", f"{API}reports/?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in document["error"]


def test_report_detail_and_artifact(root, world):
    report, artifact = world["report"], world["artifact"]
    _r, document = call(root, "GET", f"{API}reports/{report.pk}/")
    assert document["state"] == "queued"
    assert document["started_by"] == "root"
    assert document["task"] == {"id": world["busy"].pk, "name": "busy"}
    [listed] = document["artifacts"]
    assert listed["name"] == "out.csv" and listed["size"] == 4
    response = root.get(listed["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a,b\n"
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    response, document = call(root, "GET", f"{API}reports/{report.pk}/artifacts/{artifact.pk + 1}/")
    assert response.status_code == 404
    artifact.file.delete(save=False)
    response, document = call(root, "GET", listed["url"])
    assert response.status_code == 404 and "missing" in document["error"]


def test_lines_by_keyset(root, report):
    run = report([("INFO", f"line {i}") for i in range(24)] + [("ERROR", "boom")])
    url = f"{API}reports/{run.pk}/lines/"
    _r, page = call(root, "GET", f"{url}?limit=10")
    assert [line["line"] for line in page["lines"]] == list(range(10))
    assert page["next"] == 9 and page["has_more"] is True
    assert page["lines"][0]["message"] == "line 0" and page["lines"][0]["level"] == "INFO"
    assert page["lines"][0]["timestamp"]
    _r, page = call(root, "GET", page["next_url"])
    assert [line["line"] for line in page["lines"]] == list(range(10, 20))
    _r, page = call(root, "GET", f"{url}?after=19&limit=10")
    assert [line["message"] for line in page["lines"]][-1] == "boom"
    assert page["has_more"] is False and page["next_url"] is None and page["next"] == 24
    assert page["finished"] is True and page["state"] == "finished"
    assert (page["result"], page["n_errors"], page["log_size"]) == ("errors", 1, 25)
    _r, page = call(root, "GET", f"{url}?after=24")
    assert page["lines"] == [] and page["next"] == 24
    _r, page = call(root, "GET", f"{url}?after=1000000")
    assert page["lines"] == [] and page["next"] == 1000000
    for query in ("after=-1", "after=a", f"after={10**30}", "limit=0", "limit=-5"):
        response, page = call(root, "GET", f"{url}?{query}")
        assert response.status_code == 400, query


def test_lines_of_a_running_run_say_where_to_go_on(root, world):
    """A run that has not ended: ``next_url`` is there even when every line is read."""
    _r, page = call(root, "GET", f"{API}reports/{world['report'].pk}/lines/")
    assert page["lines"] == [] and page["next"] is None and page["finished"] is False
    assert page["next_url"].endswith("lines/?limit=1000")


def test_lines_page_is_at_most_5000(root, report):
    run = report([("INFO", "x")] * 5001)
    _r, page = call(root, "GET", f"{API}reports/{run.pk}/lines/?limit=100000")
    assert len(page["lines"]) == 5000 and page["has_more"] is True and page["next"] == 4999


def test_errors_are_json(root, world):
    response, document = call(root, "GET", f"{API}tasks/{world['startable'].pk}/start/")
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert "GET" in document["error"]
    response, document = call(root, "GET", f"{API}no/such/thing/")
    assert response.status_code == 404 and "no/such/thing" in document["error"]
    response, document = call(root, "GET", f"{API}reports/{10**30}/")
    assert response.status_code == 404


def test_url_names():
    assert reverse("eztaskmanager:api-task-list") == f"{API}tasks/"
    assert reverse("eztaskmanager:api-report-lines", args=[3]) == f"{API}reports/3/lines/"


@pytest.mark.parametrize("path", ["tasks/", "reports/"])
def test_lists_cost_the_same_queries_for_more_rows(root, world, report, path):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = root.get(f"{API}{path}")
        assert response.status_code == 200
        return len(captured)

    report(task=world["startable"], started_by=world["root"])
    queries()  # the token's first use of the minute is written: not a cost of the rows
    few = queries()
    for _ in range(10):
        report(task=world["startable"], started_by=world["root"])
        world["startable"].pk = None
        world["startable"].save()
    assert queries() == few


@pytest.mark.parametrize(
    "query",
    [
        "tasks/?category=%C2%B2",
        f"tasks/?category={10**30}",
        "tasks/?command=%00x",
        "tasks/?category=a%00",
        f"tasks/?after={10**30}",
        f"reports/?task={10**30}",
        f"reports/?before={10**30}",
        f"tasks/{10**30}/",
    ],
)
def test_odd_input_is_never_a_server_error(root, world, query):
    response = root.get(f"{API}{query}")
    assert response.status_code in (200, 400, 404), response.content
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("arguments", [r"--limit=1\u0000", r"--limit=\ud800"])
def test_start_arguments_a_database_cannot_store_are_400(root, world, arguments):
    url = f"{API}tasks/{world['startable'].pk}/start/"
    response = root.post(url, f'{{"arguments": "{arguments}"}}', content_type="application/json")
    assert response.status_code == 400
    assert "arguments" in response.json()["error"]
    assert not world["startable"].launchreport_set.exists()
