"""The Commands section: switch commands on and off, read their full help."""

from __future__ import annotations

from django.urls import reverse

from eztaskmanager.models import AppCommand


def test_the_list_shows_app_name_and_active_and_toggles_active_in_place(client_as, command):
    cmd = command(active=False)
    client = client_as("superuser")
    url = reverse("admin:eztaskmanager_appcommand_changelist")
    response = client.get(url)
    assert response.context["cl"].list_editable == ("active",)
    html = response.content.decode()
    assert "eztaskmanager" in html and "test_livelogging_command" in html
    response = client.post(
        url,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(cmd.pk),
            "form-0-active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    cmd.refresh_from_db()
    assert cmd.active


def test_the_detail_page_shows_the_full_help_read_only(client_as, command):
    cmd = command()
    page = client_as("superuser").get(
        reverse("admin:eztaskmanager_appcommand_change", args=[cmd.pk])
    )
    html = page.content.decode()
    assert '<pre class="eztm-help">usage: manage.py test_livelogging_command' in html
    assert "--warning-prob WARNING_PROB" in html
    assert "Command for testing live logger" in html
    assert "help_text_display" in page.context["adminform"].readonly_fields


def test_commands_are_not_added_by_hand(client_as, db):
    client = client_as("superuser")
    assert client.get(reverse("admin:eztaskmanager_appcommand_add")).status_code == 403
    assert not AppCommand.objects.exists()
