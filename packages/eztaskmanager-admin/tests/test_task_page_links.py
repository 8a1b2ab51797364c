"""The task page links only to the reports its user may see (its status, last result, chart)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.test_report_visibility import ROLES, legacy, owned, people  # noqa: F401


@pytest.mark.parametrize("role", ROLES)
def test_the_task_page_links_only_to_visible_reports(people, owned, role):  # noqa: F811
    html = people[role][1].get(reverse("admin:eztaskmanager_task_change", args=[owned.task_id]))
    html = html.content.decode()
    log = reverse("admin:eztaskmanager_launchreport_log_viewer", args=[owned.pk])
    assert 'class="eztm-result eztm-result-ok' in html  # the last result, shown to all
    assert '<rect class="eztm-bar eztm-bar-ok"' in html  # and its bar
    assert (log in html) is ROLES[role]
