"""The Commands section: commands come from ``collectcommands``; here they are switched on and off."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import AppCommand
from eztaskmanager_admin import display


class AppCommandAdmin(admin.ModelAdmin):
    """Commands come from ``collectcommands``; here they are switched on and off."""

    list_display = ("name", "app_name", "active")
    list_display_links = ("name", "app_name")
    list_editable = ("active",)
    list_filter = ("active", "app_name")
    search_fields = ("name", "app_name")
    fields = ("active", "app_name", "name", "help_text_display")
    readonly_fields = ("app_name", "name", "help_text_display")

    class Media:
        css = display.ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("help text"))
    def help_text_display(self, obj: AppCommand) -> SafeString:
        return format_html('<pre class="eztm-help">{}</pre>', obj.help_text)
