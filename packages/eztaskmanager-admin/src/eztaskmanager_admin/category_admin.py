"""The Task categories section: a category's page lists its tasks."""

from __future__ import annotations

from django.contrib import admin

from eztaskmanager_admin import display
from eztaskmanager_admin.inlines import CategoryTaskInline


class TaskCategoryAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    inlines = [CategoryTaskInline]

    class Media:
        css = display.ADMIN_CSS
