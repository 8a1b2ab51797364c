"""Per-user visibility of reports: without ``view_all_reports``, a user sees the reports of
the runs they started, and nothing of others' (404, as for a report that does not exist;
no link to one), in every list, page and log view."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from eztaskmanager.models import LaunchReport, Task, TaskCategory
from tests.history_bars import bars_of_page

# Who, and whether they see a run that "owner" started.
ROLES = {"superuser": True, "viewall": True, "owner": True, "other": False}
BASE_PERMISSIONS = ["view_task", "view_launchreport"]


def make_client(role: str) -> tuple[User, Client]:
    if role == "superuser":
        user = User.objects.create_superuser("root", "root@example.com", "pw")
    else:
        user = User.objects.create_user(role, f"{role}@example.com", "pw", is_staff=True)
        codenames = [*BASE_PERMISSIONS, *(["view_all_reports"] if role == "viewall" else [])]
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="eztaskmanager", codename__in=codenames
            )
        )
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def people(db) -> dict[str, tuple[User, Client]]:
    return {role: make_client(role) for role in ROLES}


@pytest.fixture
def owned(people, report) -> LaunchReport:
    """A finished run that ``owner`` started from the admin."""
    owner = people["owner"][0]
    return report([("INFO", "owner secret line")], origin="admin", started_by=owner)


@pytest.fixture
def legacy(report) -> LaunchReport:
    """A run from before runs kept who started them."""
    return report([("INFO", "legacy secret line")])


def page_urls(pk: int) -> dict[str, str]:
    """Every URL that reads one report, in the admin and in the standalone set."""
    urls = {
        "change": reverse("admin:eztaskmanager_launchreport_change", args=[pk]),
        "history": reverse("admin:eztaskmanager_launchreport_history", args=[pk]),
    }
    for name in ("log_viewer", "live_log_viewer", "ajax_read_log_lines", "log_text"):
        urls[f"admin {name}"] = reverse(f"admin:eztaskmanager_launchreport_{name}", args=[pk])
        urls[name] = reverse(f"eztaskmanager:{name}", args=[pk])
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_each_page_of_a_report_answers_who_may_see_it_and_404_to_others(people, owned, role):
    client = people[role][1]
    for name, url in page_urls(owned.pk).items():
        response = client.get(url)
        if ROLES[role]:
            assert response.status_code == 200, name
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if name != "history":
                # The viewer pages load their lines from the JSON endpoint.
                assert (b"owner secret line" in body) is not name.endswith("log_viewer"), name
        else:
            assert response.status_code == 404, name
            assert b"owner secret line" not in response.content, name


@pytest.mark.parametrize("role", ROLES)
def test_a_report_not_visible_answers_as_one_that_does_not_exist(people, owned, role):
    client = people[role][1]
    missing = LaunchReport.objects.order_by("-pk").first().pk + 1000
    for name, url in page_urls(missing).items():
        assert client.get(url).status_code == 404, name  # never Django's redirect


def test_the_json_endpoint_keeps_the_seed_contract_for_the_owner(people, owned):
    client = people["owner"][1]
    data = client.get(reverse("eztaskmanager:ajax_read_log_lines", args=[owned.pk])).json()
    assert data["log_size"] == 1
    assert data["new_log_lines"][0]["message"] == "owner secret line"
    assert data["task_status"] == "idle"


@pytest.mark.parametrize("role", ["superuser", "viewall", "owner", "other"])
def test_a_run_from_before_is_seen_only_with_view_all_reports(people, legacy, role):
    response = people[role][1].get(page_urls(legacy.pk)["ajax_read_log_lines"])
    assert response.status_code == (200 if role in ("superuser", "viewall") else 404)


def test_delete_is_404_before_403_for_a_report_not_visible(people, owned):
    url = reverse("admin:eztaskmanager_launchreport_delete", args=[owned.pk])
    assert people["superuser"][1].get(url).status_code == 200
    assert people["owner"][1].get(url).status_code == 403  # sees it, may not delete it
    assert people["other"][1].get(url).status_code == 404
    assert LaunchReport.objects.filter(pk=owned.pk).exists()


@pytest.mark.parametrize("role", ROLES)
def test_the_report_list_holds_only_visible_reports(people, owned, legacy, role):
    html = people[role][1].get(reverse("admin:eztaskmanager_launchreport_changelist")).content
    html = html.decode()
    own_link = reverse("admin:eztaskmanager_launchreport_change", args=[owned.pk])
    legacy_link = reverse("admin:eztaskmanager_launchreport_change", args=[legacy.pk])
    assert (own_link in html) is ROLES[role]
    assert (legacy_link in html) is (role in ("superuser", "viewall"))
    if ROLES[role]:
        assert "owner via the admin" in html


@pytest.mark.parametrize("role", ROLES)
def test_the_task_page_lists_and_links_only_visible_reports(people, owned, legacy, role):
    # Both runs are of their own tasks; the owner's task page shows its run to who may see it.
    client = people[role][1]
    html = client.get(reverse("admin:eztaskmanager_task_change", args=[owned.task_id])).content
    assert (b"owner secret line" in html) is ROLES[role]
    assert (b"owner via the admin" in html) is ROLES[role]  # who started each run
    html = client.get(reverse("admin:eztaskmanager_task_change", args=[legacy.task_id])).content
    assert (b"legacy secret line" in html) is (role in ("superuser", "viewall"))


@pytest.mark.parametrize("role", ROLES)
def test_the_task_list_links_only_to_visible_reports(people, owned, role):
    client = people[role][1]
    html = client.get(reverse("admin:eztaskmanager_task_changelist")).content.decode()
    bars = bars_of_page(client, html)[str(owned.task_id)]
    log = reverse("admin:eztaskmanager_launchreport_log_viewer", args=[owned.pk])
    # The last result and the history bar are shown to everyone; the links only to who may see it.
    assert 'class="eztm-result eztm-result-ok' in html
    assert '<rect class="eztm-bar eztm-bar-ok"' in bars
    assert (log in html) is ROLES[role]
    assert (log in bars) is ROLES[role]


def test_the_report_list_filters_by_origin_and_user(people, owned, legacy, report):
    client = people["superuser"][1]
    scheduled = report(origin="schedule", started_by=people["other"][0])
    url = reverse("admin:eztaskmanager_launchreport_changelist")

    def shown(**params) -> set[int]:
        response = client.get(url, params)
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    assert shown() == {owned.pk, legacy.pk, scheduled.pk}
    assert shown(origin__exact="admin") == {owned.pk}
    assert shown(origin__exact="schedule") == {scheduled.pk}
    assert shown(started_by__id__exact=people["other"][0].pk) == {scheduled.pk}
    html = client.get(url).content.decode()
    assert "the schedule (armed by other)" in html
    page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[owned.pk]))
    assert "owner via the admin" in page.content.decode()
    legacy_page = client.get(reverse("admin:eztaskmanager_launchreport_change", args=[legacy.pk]))
    assert legacy_page.status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_a_category_page_links_its_tasks_last_result_only_for_who_may_see_it(people, owned, role):
    user, client = people[role]
    user.user_permissions.add(Permission.objects.get(codename="view_taskcategory"))
    category = TaskCategory.objects.create(name="nightly")
    Task.objects.filter(pk=owned.task_id).update(category=category)
    page = client.get(reverse("admin:eztaskmanager_taskcategory_change", args=[category.pk]))
    html = page.content.decode()
    assert 'class="eztm-result eztm-result-ok' in html
    log = reverse("admin:eztaskmanager_launchreport_log_viewer", args=[owned.pk])
    assert (log in html) is ROLES[role]
