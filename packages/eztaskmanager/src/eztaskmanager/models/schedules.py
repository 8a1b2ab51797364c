"""The due times of schedules that have fired: the database says who fired each one first."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FiredDueTime(models.Model):
    """One due time of a task's schedule, fired once (see :meth:`Task.claim_due`)."""

    task = models.ForeignKey(
        "Task", on_delete=models.CASCADE, related_name="+", verbose_name=_("task")
    )
    due_at = models.DateTimeField(_("due at"))
    fired_at = models.DateTimeField(_("fired at"), default=timezone.now)

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("fired due time")
        verbose_name_plural = _("fired due times")
        constraints = [
            models.UniqueConstraint(fields=["task", "due_at"], name="eztaskmanager_due_once")
        ]

    def __str__(self) -> str:
        return f"{self.task_id} @ {self.due_at.isoformat()}"
