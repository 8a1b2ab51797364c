"""Personal API tokens: a user's key for the JSON API, stored only as its SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# How many leading characters of a key are kept in clear, to tell tokens apart.
PREFIX_LENGTH = 8
# How stale a token's "last used" may be.
LAST_USE_PRECISION = timedelta(minutes=1)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user: Any, name: str = "") -> tuple[ApiToken, str]:
        """A new token for ``user``; returns it and its key, which is shown this once."""
        # Hexadecimal: a key (or its prefix) never starts with "-", which
        # ``eztaskmanager_token revoke`` would take for an option, and copies with a double click.
        key = secrets.token_hex(32)
        token = self.create(
            user=user, name=name, prefix=key[:PREFIX_LENGTH], key_digest=digest(key)
        )
        return token, key

    def authenticate(self, key: str) -> ApiToken | None:
        """The active token whose key is ``key``, its use recorded; ``None`` if there is none."""
        token = (
            self.select_related("user").filter(key_digest=digest(key), user__is_active=True).first()
        )
        if token is not None:
            now = timezone.now()
            last = token.last_used_at
            # A client that polls a run's lines asks every second: one write a minute is enough.
            if last is None or now - last >= LAST_USE_PRECISION:
                type(token).objects.filter(pk=token.pk).update(last_used_at=now)
                token.last_used_at = now
        return token


class ApiToken(models.Model):
    """A key that authenticates its user to the JSON API (``Authorization: Bearer <key>``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="eztaskmanager_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False)
    key_digest = models.CharField(_("key digest"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["user", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.user})"
