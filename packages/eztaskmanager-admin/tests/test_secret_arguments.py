"""Secret arguments: stored, passed to the command after the others, and never shown: not
in the task's form (an empty input and ``*** (set)``), nor its list, history, reports, log
viewer, run pages or audit trail. Their parser errors are masked."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import NoReverseMatch, reverse

from eztaskmanager.models import AuditEvent, LaunchReport, Task
from testsupport.tasks import make_command

pytestmark = pytest.mark.django_db

SECRET = "Sup3r-S3cret-Tok3n-5d1e"
OTHER_SECRET = "An0ther-S3cret-9c2f"


def probe_command():
    """The tests' own command (tests/management/commands/secret_probe.py)."""
    return make_command("secret_probe", app_name="tests")


def management_data(response) -> dict[str, str]:
    """The management forms of the page's inlines, with no rows posted."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def task_data(task_or_command, **fields) -> dict[str, str]:
    """The form's fields as ``task`` has them, or those of a new task of a command."""
    task = task_or_command if isinstance(task_or_command, Task) else None
    command = task.command if task else task_or_command
    data = {
        "name": task.name if task else "Probe the vault",
        "command": str(command.pk),
        "arguments": task.arguments if task else "--times=2",
        "secret_arguments": "",
        "note": task.note if task else "",
    }
    for name in ("retries", "retry_delay", "retry_backoff", "follows_on"):  # as they are
        default = Task._meta.get_field(name).default
        data[name] = str(getattr(task, name) if task else default)
    data.update(fields)
    return data


def post_form(client: Client, url: str, data: dict[str, str]):
    return client.post(url, {**management_data(client.get(url)), **data})


def digest_line(secret: str) -> str:
    return f"token sha256={hashlib.sha256(secret.encode()).hexdigest()} length={len(secret)}"


def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def every_page(task: Task, report: LaunchReport) -> list[str]:
    """The admin pages that show the task or its runs, and the log viewer's."""
    urls = [
        reverse("admin:eztaskmanager_task_changelist"),
        reverse("admin:eztaskmanager_task_change", args=[task.pk]),
        reverse("admin:eztaskmanager_task_history", args=[task.pk]),
        reverse("admin:eztaskmanager_task_run_with", args=[task.pk]),
        reverse("admin:eztaskmanager_task_confirm_start", args=[task.pk]),
        reverse("admin:eztaskmanager_launchreport_changelist"),
        reverse("admin:eztaskmanager_launchreport_change", args=[report.pk]),
    ]
    for name in ("log_viewer", "live_log_viewer", "ajax_read_log_lines", "log_text"):
        urls.append(reverse(f"admin:eztaskmanager_launchreport_{name}", args=[report.pk]))
        urls.append(reverse(f"eztaskmanager:{name}", args=[report.pk]))
    with contextlib.suppress(NoReverseMatch):  # the audit trail's page, where there is one
        urls.append(reverse("admin:eztaskmanager_auditevent_changelist"))
    return urls


def test_a_secret_is_passed_to_the_command_and_shown_nowhere():
    client = admin_client()
    add = reverse("admin:eztaskmanager_task_add")
    response = post_form(
        client, add, task_data(probe_command(), secret_arguments=f"--token={SECRET}")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    task = Task.objects.get()
    assert task.secret_arguments == f"--token={SECRET}"

    response = client.post(reverse("admin:eztaskmanager_task_start", args=[task.pk]))
    report = LaunchReport.objects.get(task=task)
    assert response.status_code == 302
    # The immediate backend ran it: the command got the secret (its digest, twice).
    assert report.invocation_result == "ok"
    assert sum(digest_line(SECRET) in line for line in report.get_log_lines()) == 2
    assert report.arguments == "--times=2"  # the report keeps the public ones only

    for url in every_page(task, report):
        page = client.get(url)
        assert page.status_code == 200, url
        body = b"".join(page.streaming_content) if page.streaming else page.content
        assert SECRET not in body.decode(), url
    form_page = client.get(reverse("admin:eztaskmanager_task_change", args=[task.pk]))
    html = form_page.content.decode()
    assert 'class="eztm-secret-state"><code>***</code> (set)' in html
    assert '<textarea name="secret_arguments"' in html
    assert 'name="secret_arguments_clear"' in html
    for event in AuditEvent.objects.all():
        assert SECRET not in f"{event} {event.detail}"
    for entry in LogEntry.objects.all():
        assert SECRET not in entry.change_message


def test_empty_keeps_the_secret_a_new_one_replaces_it_and_clear_removes_it():
    client = admin_client()
    task = Task.objects.create(
        name="Probe",
        command=probe_command(),
        arguments="--times=1",
        secret_arguments=f"--token={SECRET}",
    )
    change = reverse("admin:eztaskmanager_task_change", args=[task.pk])

    assert post_form(client, change, task_data(task, note="renamed")).status_code == 302
    task.refresh_from_db()
    assert (task.note, task.secret_arguments) == ("renamed", f"--token={SECRET}")
    # Leaving it empty is no change: Django's history and the trail do not name it.
    entry = LogEntry.objects.get()
    assert entry.get_change_message() == "Changed Note."
    event = AuditEvent.objects.get(action="changed")
    assert event.detail == "Changed Note."

    data = task_data(task, secret_arguments=f"--token={OTHER_SECRET}")
    assert post_form(client, change, data).status_code == 302
    task.refresh_from_db()
    assert task.secret_arguments == f"--token={OTHER_SECRET}"
    newest = LogEntry.objects.order_by("-pk").first()
    assert newest.get_change_message() == "Changed Secret arguments."
    assert SECRET not in newest.change_message and OTHER_SECRET not in newest.change_message
    assert AuditEvent.objects.order_by("-pk").first().detail == "Changed Secret arguments."

    data = task_data(task, secret_arguments_clear="1")
    assert post_form(client, change, data).status_code == 302
    task.refresh_from_db()
    assert task.secret_arguments == ""
    html = client.get(change).content.decode()
    assert "eztm-secret-state" not in html and "secret_arguments_clear" not in html


def test_the_parser_error_of_a_secret_is_masked_in_the_form():
    client = admin_client()
    task = Task.objects.create(name="Probe", command=probe_command(), arguments="--times=1")
    change = reverse("admin:eztaskmanager_task_change", args=[task.pk])
    response = post_form(client, change, task_data(task, secret_arguments=f"--times={SECRET}"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["arguments"] == ["argument --times: invalid int value: '***'"]
    html = response.content.decode()
    assert SECRET not in html
    task.refresh_from_db()
    assert task.secret_arguments == ""


def test_who_may_only_view_the_task_sees_stars():
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_task"]))
    task = Task.objects.create(
        name="Probe", command=probe_command(), secret_arguments=f"--token={SECRET}"
    )
    client = Client()
    client.force_login(viewer)
    page = client.get(reverse("admin:eztaskmanager_task_change", args=[task.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert SECRET not in html
    assert '<div class="readonly">***</div>' in html


def test_run_now_with_passes_the_secret_and_shows_stars():
    client = admin_client()
    task = Task.objects.create(
        name="Probe",
        command=probe_command(),
        arguments="--times=1",
        secret_arguments=f"--token={SECRET}",
    )
    url = reverse("admin:eztaskmanager_task_run_with", args=[task.pk])
    page = client.get(url).content.decode()
    assert SECRET not in page
    assert '<code>***</code> <span class="help">Passed after the arguments above' in page
    assert client.post(url, {"arguments": "--times=3"}).status_code == 302
    report = LaunchReport.objects.get(task=task)
    assert sum(digest_line(SECRET) in line for line in report.get_log_lines()) == 3
    assert report.arguments == "--times=3"
    for event in AuditEvent.objects.all():
        assert SECRET not in event.detail


def test_creating_changing_and_deleting_a_task_is_in_the_audit_trail():
    client = admin_client()
    add = reverse("admin:eztaskmanager_task_add")
    data = task_data(probe_command(), secret_arguments=f"--token={SECRET}")
    assert post_form(client, add, data).status_code == 302
    task = Task.objects.get()
    change = reverse("admin:eztaskmanager_task_change", args=[task.pk])
    data = task_data(task, secret_arguments=f"--token={OTHER_SECRET}")
    assert post_form(client, change, data).status_code == 302
    delete = reverse("admin:eztaskmanager_task_delete", args=[task.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Task.objects.exists()
    events = list(AuditEvent.objects.order_by("pk").values_list("action", "username", "detail"))
    assert events == [
        ("created", "root", "Added."),
        ("changed", "root", "Changed Secret arguments."),
        ("deleted", "root", ""),
    ]
    assert AuditEvent.objects.filter(task_name="Probe the vault").count() == 3
