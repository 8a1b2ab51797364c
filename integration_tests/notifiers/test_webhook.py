"""The custom notifier example of docs/how-to/custom-notifier.md, against a real HTTP server."""

import pytest
from django.test import override_settings

from eztaskmanager.checks import check_settings
from eztaskmanager.notifiers import locmem
from eztaskmanager.registry import get_notifiers
from integration_tests.notifiers.runs import FAILING, LIVE, notifier_errors, run
from integration_tests.notifiers.webhook_notifier import WebhookNotifier
from testsupport.httpserver import Answer

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DOTTED_PATH = "integration_tests.notifiers.webhook_notifier.WebhookNotifier"


def test_by_dotted_path(webhook, notifiers):
    url = f"{webhook.url}/hooks/ops"
    headers = {"Authorization": "Token s3cret"}
    notifiers(
        {
            "ops-hook": {
                "BACKEND": DOTTED_PATH,
                "LEVEL": "errors",
                "OPTIONS": {"url": url, "headers": headers},
            }
        }
    )
    run(LIVE, "--limit=5,--sleep=0")  # ok: below the level
    report = run(FAILING)
    (request,) = webhook.requests
    assert (request.method, request.path) == ("POST", "/hooks/ops")
    assert request.headers["Authorization"] == "Token s3cret"
    payload = request.json
    assert payload["task"] == report.task.name
    assert (payload["result"], payload["errors"], payload["warnings"]) == ("failed", 1, 0)
    assert payload["log_url"] == f"https://tm.example.com/taskmanager/log_viewer/{report.pk}/"
    assert payload["log_tail"][-1].endswith("RuntimeError: This command always fails")
    assert payload["text"].startswith(f"Task: {report.task.name}\nResult: FAILED")


def test_a_refusing_webhook_is_logged_and_the_run_is_intact(webhook, notifiers, caplog):
    webhook.respond = lambda request: Answer(503, {"detail": "maintenance"})
    notifiers({"ops-hook": {"BACKEND": DOTTED_PATH, "OPTIONS": {"url": webhook.url}}})
    report = run(FAILING)
    (error,) = notifier_errors(caplog)
    assert f"webhook {webhook.url} refused the notification: HTTP Error 503" in error
    assert report.invocation_result == "failed" and report.task.status == "idle"


def test_by_entry_point_name(webhook, notifiers, tmp_path, monkeypatch):
    # What `pip install` writes for a package whose pyproject.toml declares
    # [project.entry-points."eztaskmanager.notifiers"] webhook = "...:WebhookNotifier"
    dist_info = tmp_path / "myproject_webhook-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: myproject-webhook\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[eztaskmanager.notifiers]\n"
        "webhook = integration_tests.notifiers.webhook_notifier:WebhookNotifier\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    notifiers(
        {"ops-hook": {"BACKEND": "webhook", "LEVEL": "failed", "OPTIONS": {"url": webhook.url}}}
    )
    (notifier,) = get_notifiers()
    assert type(notifier) is WebhookNotifier
    run(FAILING)
    assert webhook.requests[0].json["result"] == "failed"


@pytest.mark.parametrize("url", ["", "hooks.example.com/ops"])
def test_its_check(url):
    config = {
        "BACKEND": "immediate",
        "NOTIFIERS": {"ops-hook": {"BACKEND": DOTTED_PATH, "OPTIONS": {"url": url}}},
    }
    with override_settings(EZTASKMANAGER=config):
        (message,) = check_settings()
    assert message.id == "myproject.E001"
    assert message.msg == f"Notifier 'ops-hook' (webhook) has no http(s) URL: {url!r}."


def test_seed_flat_settings_with_a_class_key(webhook):
    handlers = {"hook": {"class": DOTTED_PATH, "level": "failure", "url": webhook.url}}
    with override_settings(
        EZTASKMANAGER_NOTIFICATION_HANDLERS=handlers, EZTASKMANAGER={"BACKEND": "immediate"}
    ):
        run(FAILING)
    assert webhook.requests[0].json["result"] == "failed"


def test_a_project_checks_its_notifications_with_the_locmem_notifier(notifiers):
    # How a project tests what its runs would notify, without any network.
    locmem.outbox.clear()
    notifiers({"test": {"BACKEND": "locmem", "LEVEL": "failed"}})
    run(LIVE, "--limit=5,--sleep=0")
    report = run(FAILING)
    (notification,) = locmem.outbox
    assert notification.subject == f"[FAILED] {report.task.name}"
    assert notification.url == f"https://tm.example.com/taskmanager/log_viewer/{report.pk}/"
