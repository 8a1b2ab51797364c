import pytest
from django.contrib.sites.models import Site
from django.core import mail
from django.test import override_settings

from eztaskmanager.exceptions import NotificationError
from eztaskmanager.models import LaunchReport
from eztaskmanager.registry import get_notifiers
from eztaskmanager.services.notifications import split_list
from eztaskmanager.services.queues import get_task_service
from eztaskmanager_email import EmailNotifier
from testsupport.tasks import make_task

pytestmark = pytest.mark.django_db

LIVE = "test_livelogging_command"


def run(command, arguments=""):
    task = make_task(command, arguments)
    get_task_service().add(task)
    return task.launchreport_set.get()


def html_of(message):
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def test_the_name_email_resolves_to_the_notifier():
    (notifier,) = get_notifiers()
    assert isinstance(notifier, EmailNotifier)
    assert (notifier.alias, notifier.level) == ("ops-mail", "errors")


def test_a_failed_run_is_emailed():
    report = run("test_failing_command")
    (message,) = mail.outbox
    assert message.subject == f"[FAILED] {report.task.name}"
    assert message.from_email == "taskmanager@example.com"
    assert message.to == ["ops@example.com", "Dev Team <dev@example.com>"]
    assert f"Task: {report.task.name}" in message.body
    assert "Result: FAILED" in message.body
    assert "Errors: 1, warnings: 0" in message.body
    assert f"Log: https://tm.example.com/taskmanager/logs/{report.pk}/" in message.body
    assert "RuntimeError: This command always fails" in message.body
    html = html_of(message)
    assert f'href="https://tm.example.com/taskmanager/logs/{report.pk}/"' in html
    assert "FAILED" in html and "About to fail" in html


def test_levels_filter_what_is_sent():
    run(LIVE, "--limit=3,--sleep=0")  # ok: below "errors"
    run(LIVE, "--limit=3,--sleep=0,--warning-prob=1")  # warnings: below "errors"
    assert mail.outbox == []
    run(LIVE, "--limit=3,--sleep=0,--error-prob=1")
    (message,) = mail.outbox
    assert message.subject.startswith("[ERRORS] ")
    assert "Errors: 3, warnings: 0" in message.body


def test_a_stopped_or_lost_run_is_emailed_with_the_reason():
    task = make_task(LIVE)
    report = LaunchReport.objects.create(task=task)
    report.lost("Worker lost: no heartbeat for 75 s (w1 (pid 7)).")
    stopping = LaunchReport.objects.create(task=task, state=LaunchReport.STATE_STOPPING)
    stopping.lost("Stopped: its process gave no sign of life for 12 s.")
    failed, stopped = mail.outbox
    assert failed.subject == f"[FAILED] {task.name}"
    assert "Why: Worker lost: no heartbeat for 75 s (w1 (pid 7))." in failed.body
    assert stopped.subject == f"[STOPPED] {task.name}"  # stopped ranks above "errors"
    assert "Stopped: its process gave no sign of life for 12 s." in html_of(stopped)


@override_settings(
    EZTASKMANAGER={
        "BACKEND": "immediate",
        "NOTIFIERS": {
            "all": {"BACKEND": "email", "LEVEL": "ok", "OPTIONS": {"recipients": "a@x.io"}}
        },
    }
)
def test_level_ok_sends_every_result_and_no_link_without_base_url():
    Site.objects.all().delete()  # no Sites row either: no link, and no failure
    Site.objects.clear_cache()
    run(LIVE, "--limit=3,--sleep=0")
    run(LIVE, "--limit=3,--sleep=0,--warning-prob=1")
    assert [m.subject.split()[0] for m in mail.outbox] == ["[OK]", "[WARNINGS]"]
    assert "Log:" not in mail.outbox[0].body
    assert "href" not in html_of(mail.outbox[0])


def test_without_base_url_the_link_uses_the_sites_framework():
    Site.objects.filter(pk=1).update(domain="tasks.example.org")
    Site.objects.clear_cache()
    config = {
        "BACKEND": "immediate",
        "NOTIFIERS": {"m": {"BACKEND": "email", "OPTIONS": {"recipients": "a@x.io"}}},
    }
    with override_settings(EZTASKMANAGER=config):
        report = run("test_failing_command")
    Site.objects.clear_cache()
    assert f"Log: https://tasks.example.org/taskmanager/logs/{report.pk}/" in mail.outbox[0].body


def test_html_escapes_the_task_name_and_log_lines():
    task = make_task("test_failing_command", name="<b>nightly</b> & <script>alert(1)</script>")
    get_task_service().add(task)
    (message,) = mail.outbox
    html = html_of(message)
    assert "<script>" not in html and "<b>nightly" not in html
    assert "&lt;b&gt;nightly&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert message.subject == "[FAILED] <b>nightly</b> & <script>alert(1)</script>"


def test_subject_prefix_and_newlines_in_names():
    notifier = EmailNotifier("me@example.com", ["a@example.com"], "ok", subject_prefix="[prod] ")
    task = make_task(LIVE, "--limit=1,--sleep=0", name="two\nlines")
    with override_settings(EZTASKMANAGER={"BACKEND": "immediate"}):
        get_task_service().add(task)
    notifier.emit(task.launchreport_set.get())
    (message,) = mail.outbox
    assert message.subject == "[prod] [OK] two lines"
    assert message.from_email == "me@example.com"


def test_project_templates_override_the_html():
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(__import__("pathlib").Path(__file__).parent / "override_templates")],
        }
    ]
    with override_settings(TEMPLATES=templates):
        report = run("test_failing_command")
    html = html_of(mail.outbox[0])
    assert html.strip() == f"<p>Overridden by the project: {report.task.name} FAILED</p>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@x.io, b@x.io ,", ["a@x.io", "b@x.io"]),
        (["a@x.io", " b@x.io "], ["a@x.io", "b@x.io"]),
        ("", []),
        (None, []),
    ],
)
def test_recipients_from_a_list_or_an_env_string(value, expected):
    assert split_list(value) == expected


def test_seed_positional_signature():
    notifier = EmailNotifier("from@example.com", ["to@example.com"], "failure")
    assert (notifier.from_email, notifier.recipients, notifier.level) == (
        "from@example.com",
        ["to@example.com"],
        "failed",
    )


def test_no_recipients_is_a_notification_error():
    task = make_task(LIVE, "--limit=1,--sleep=0")
    with override_settings(EZTASKMANAGER={"BACKEND": "immediate"}):
        get_task_service().add(task)
    with pytest.raises(NotificationError, match="no recipients"):
        EmailNotifier(recipients="").emit(task.launchreport_set.get())


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=1)
def test_a_failed_send_is_a_notification_error_naming_the_recipients():
    task = make_task(LIVE, "--limit=1,--sleep=0")
    with override_settings(EZTASKMANAGER={"BACKEND": "immediate"}):
        get_task_service().add(task)
    notifier = EmailNotifier(recipients=["ops@example.com"], level="ok")
    notifier.alias = "ops"
    with pytest.raises(NotificationError, match=r"'ops' could not send to ops@example.com"):
        notifier.emit(task.launchreport_set.get())


def test_the_email_says_what_the_run_ran_with_not_what_the_task_says_now():
    report = run(LIVE, '--limit=2,--sleep=0,--error-prob=1,--trace-steps="1"')
    (message,) = mail.outbox
    ran = '--limit=2,--sleep=0,--error-prob=1,--trace-steps="1"'
    assert f"Command: eztaskmanager: {LIVE}" in message.body
    assert f"Arguments: {ran}" in message.body
    html = html_of(message)
    assert f"<code>eztaskmanager: {LIVE}</code>" in html
    assert "<code>--limit=2,--sleep=0,--error-prob=1,--trace-steps=&quot;1&quot;</code>" in html
    # Sent again later (the task edited meanwhile), it still says what ran.
    task = report.task
    task.arguments = "--limit=9"
    task.save()
    mail.outbox.clear()
    report.refresh_from_db()
    EmailNotifier(recipients=["ops@example.com"], level="ok").handle(report)
    (again,) = mail.outbox
    assert f"Arguments: {ran}" in again.body and "--limit=9" not in again.body
