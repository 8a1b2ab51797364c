"""The email notifier through Django's SMTP backend to a real SMTP server on loopback."""

import os

import pytest
from django.urls import reverse

from eztaskmanager.notifiers import locmem
from integration_tests.notifiers.conftest import use_smtp
from integration_tests.notifiers.runs import FAILING, LIVE, notifier_errors, run
from testsupport.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def email(level="failed", **options):
    return {
        "BACKEND": "email",
        "LEVEL": level,
        "OPTIONS": {"recipients": ["ops@example.com"], **options},
    }


def test_a_failed_run_arrives_as_text_and_html(smtp, notifiers):
    notifiers({"ops-mail": email(subject_prefix="[prod] ")})
    report = run(FAILING)
    (mail,) = smtp.received
    assert mail.mail_from == "taskmanager@example.com"
    assert mail.rcpt_tos == ["ops@example.com"]
    assert mail.message["Subject"] == f"[prod] [FAILED] {report.task.name}"
    assert mail.message.get_content_type() == "multipart/alternative"
    text, html = mail.part("text/plain"), mail.part("text/html")
    link = f"https://tm.example.com/taskmanager/log_viewer/{report.pk}/"
    assert "Result: FAILED" in text and f"Log: {link}" in text
    assert "RuntimeError: This command always fails" in text
    assert f'href="{link}"' in html and "About to fail" in html


def test_levels_and_a_real_run_of_the_live_logging_command(smtp, notifiers):
    notifiers({"all": email(level="ok"), "errors-only": email(level="errors")})
    report = run(LIVE, "--limit=5,--sleep=0")
    (mail,) = smtp.received  # "ok" is below the second notifier's level
    assert mail.message["Subject"] == f"[OK] {report.task.name}"
    text = mail.part("text/plain")
    assert "Errors: 0, warnings: 0" in text
    assert text.rstrip().endswith("Finished")


def test_recipients_as_a_comma_separated_env_string(smtp, notifiers, monkeypatch):
    # As a settings file does: "recipients": os.environ["..._RECIPIENTS"]
    monkeypatch.setenv(
        "EZTASKMANAGER_NOTIFICATIONS_EMAIL_RECIPIENTS", "a@example.com, b@example.com"
    )
    recipients = os.environ["EZTASKMANAGER_NOTIFICATIONS_EMAIL_RECIPIENTS"]
    notifiers({"mail": email(recipients=recipients, from_email="Tasks <tm@example.com>")})
    run(FAILING)
    (mail,) = smtp.received
    assert mail.rcpt_tos == ["a@example.com", "b@example.com"]
    assert mail.mail_from == "tm@example.com"
    assert mail.message["To"] == "a@example.com, b@example.com"


def test_a_refused_recipient_is_logged_and_the_run_is_intact(smtp, notifiers, caplog):
    smtp.handler.refused.add("gone@example.com")
    notifiers({"mail": email(recipients=["gone@example.com"])})
    report = run(FAILING)
    assert smtp.received == []
    (error,) = notifier_errors(caplog)
    assert "'mail' could not send to gone@example.com" in error and "550" in error
    assert report.invocation_result == "failed"


def test_a_server_that_is_down_leaves_the_run_and_other_notifiers_intact(
    smtp, notifiers, settings, caplog
):
    use_smtp(settings, free_port())  # nothing listens there
    locmem.outbox.clear()
    notifiers({"mail": email(), "memory": {"BACKEND": "locmem", "LEVEL": "failed"}})
    report = run(FAILING)
    (error,) = notifier_errors(caplog)
    assert "'mail' could not send to ops@example.com" in error
    assert "Connection refused" in error
    assert report.invocation_result == "failed"
    assert report.n_log_lines == 2 and report.n_log_errors == 1
    assert report.get_log_lines()[0].endswith("About to fail")
    assert report.task.status == "idle"
    assert report.task.cached_last_invocation_result == "failed"
    assert [n.result for n in locmem.outbox] == ["failed"]


def test_the_link_opens_the_log_viewer(smtp, notifiers, admin_client):
    notifiers({"ops-mail": email()})
    report = run(FAILING)
    (link,) = [
        line[5:]
        for line in smtp.received[0].part("text/plain").splitlines()
        if line.startswith("Log: ")
    ]
    assert link.startswith("https://tm.example.com/")
    page = admin_client.get(link.removeprefix("https://tm.example.com"))
    assert page.status_code == 200
    assert f"Log of {report.task.name}" in page.text
    lines = admin_client.get(reverse("eztaskmanager:ajax_read_log_lines", args=[report.pk]))
    assert "About to fail" in str(lines.json()["new_log_lines"][0])
