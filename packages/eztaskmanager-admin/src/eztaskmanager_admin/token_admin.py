"""The API tokens section: issue a personal key for the JSON API, see when it was last
used, delete it to revoke it.

A key is shown once, in the message after it is issued: only its SHA-256 digest is
stored. Staff members see and issue only their own tokens; superusers, everyone's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eztaskmanager.models.tokens import ApiToken


class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by ``ApiToken.objects.issue`` (never typed in) and revoked by deletion."""

    list_display = ("prefix_display", "name", "user", "created_at", "last_used_at")
    list_display_links = ("prefix_display", "name")
    search_fields = ("name", "prefix", "user__username")
    ordering = ("-created_at",)

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["user", "name"]
        return ["prefix_display", "user", "name", "created_at", "last_used_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return []
        # A token's owner never changes: a new owner gets a token of their own.
        return ["prefix_display", "user", "created_at", "last_used_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return tokens
        return tokens.filter(user=request.user)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"user": request.user.pk}

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "user" and not request.user.is_superuser:
            # Anyone else issues tokens for themselves only: the form refuses other users.
            kwargs["queryset"] = get_user_model()._default_manager.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = ApiToken.objects.issue(obj.user, obj.name)
        # The admin goes on with the instance it built (its log entry, its redirect).
        obj.pk, obj.prefix, obj.key_digest = token.pk, token.prefix, token.key_digest
        obj.created_at = token.created_at
        obj._state.adding, obj._state.db = False, token._state.db
        messages.warning(
            request,
            _(
                "The key of the API token %(token)s is: %(key)s. Copy it now: it is not stored "
                "and will not be shown again."
            )
            % {"token": token, "key": key},
        )

    @admin.display(description=gettext_lazy("prefix"), ordering="prefix")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"
