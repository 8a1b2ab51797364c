"""What the beat scheduler remembers about each task, kept in the database.

The ``Task`` row says *when* a task is due; this row says which due times are already
done, so that a due time fires once even when the beat restarts or two beats run.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import Task


class BeatEntry(models.Model):
    """The beat's memory of one task: due times up to ``handled_until`` never fire again."""

    task = models.OneToOneField(
        Task,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="celery_beat_entry",
        verbose_name=_("task"),
    )
    handled_until = models.DateTimeField(
        _("handled until"),
        help_text=_(
            "Due times up to this instant were fired, skipped, or passed before the task "
            "was scheduled."
        ),
    )
    last_due_at = models.DateTimeField(_("last due time fired"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    total_run_count = models.PositiveIntegerField(_("runs sent"), default=0)

    class Meta:
        verbose_name = _("beat entry")
        verbose_name_plural = _("beat entries")

    def __str__(self) -> str:
        return f"{self.task_id} handled until {self.handled_until:%Y-%m-%d %H:%M:%S}"
