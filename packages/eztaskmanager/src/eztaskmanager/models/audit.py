"""The audit trail: who created, changed, started, stopped, scheduled or deleted a task, when,
and through what (see :mod:`eztaskmanager.audit`, which writes it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager import origins
from eztaskmanager.audit import ACTION_CHOICES


class AuditEvent(models.Model):
    """One action on a task. The task's name and the user's are kept as they were, so the
    trail outlives a deleted task or user."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=ACTION_CHOICES)
    source = models.CharField(_("through"), max_length=20, choices=origins.CHOICES)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)
    task = models.ForeignKey(
        "Task",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("task"),
    )
    task_name = models.CharField(_("task name"), max_length=255)
    report = models.ForeignKey(
        "LaunchReport",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("report"),
    )
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["task", "-at"], name="eztm_audit_task_idx")]

    def __str__(self) -> str:
        who = self.username or self.get_source_display()
        return f"{who} {self.get_action_display()} {self.task_name}"
