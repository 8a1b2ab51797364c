"""The Commands section: commands come from ``collectcommands``; here they are switched on
and off, and given the groups allowed to run them (:mod:`eztaskmanager.permissions`)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import AppCommand
from eztaskmanager_admin import display


class AppCommandAdmin(admin.ModelAdmin):
    """Commands come from ``collectcommands``; here they are switched on and off, and
    restricted to groups (none: open to every user who may start tasks)."""

    list_display = ("name", "app_name", "active", "groups_display")
    list_display_links = ("name", "app_name")
    list_editable = ("active",)
    list_filter = ("active", "app_name", "allowed_groups")
    search_fields = ("name", "app_name")
    fields = ("active", "allowed_groups", "app_name", "name", "help_text_display")
    readonly_fields = ("app_name", "name", "help_text_display")
    filter_horizontal = ("allowed_groups",)

    class Media:
        css = display.ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AppCommand]:
        # The list's groups column: one query for the page, not one a row.
        return super().get_queryset(request).prefetch_related("allowed_groups")

    @admin.display(description=_("allowed groups"))
    def groups_display(self, obj: AppCommand) -> str:
        names = sorted(group.name for group in obj.allowed_groups.all())
        return ", ".join(names) if names else str(_("every user who may start tasks"))

    @admin.display(description=_("help text"))
    def help_text_display(self, obj: AppCommand) -> SafeString:
        return format_html('<pre class="eztm-help">{}</pre>', obj.help_text)
