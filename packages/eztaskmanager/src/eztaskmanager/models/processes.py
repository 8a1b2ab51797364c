"""Workers and schedulers seen alive: each one records a heartbeat here while it runs."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Rows of processes not seen for this long are forgotten.
FORGOTTEN_AFTER = timedelta(days=1)


class ProcessHeartbeat(models.Model):
    """A worker or scheduler process of a queue backend, and when it was last seen alive."""

    KIND_WORKER = "worker"
    KIND_SCHEDULER = "scheduler"
    KIND_CHOICES = ((KIND_WORKER, _("worker")), (KIND_SCHEDULER, _("scheduler")))

    backend = models.CharField(_("backend"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, choices=KIND_CHOICES)
    name = models.CharField(_("name"), max_length=255)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("worker or scheduler")
        verbose_name_plural = _("workers and schedulers")
        ordering = ["backend", "kind", "-seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "kind", "name"], name="eztaskmanager_unique_process"
            )
        ]

    def __str__(self) -> str:
        return f"{self.backend} {self.kind} {self.name}"

    @classmethod
    def beat(cls, backend: str, kind: str, name: str, host: str, pid: int) -> None:
        """Record that the process is alive now (one UPDATE, or an INSERT the first time)."""
        now = timezone.now()
        updated = cls.objects.filter(backend=backend, kind=kind, name=name[:255]).update(
            seen_at=now, host=host[:255], pid=pid
        )
        if not updated:
            cls.objects.update_or_create(
                backend=backend,
                kind=kind,
                name=name[:255],
                defaults={"host": host[:255], "pid": pid, "started_at": now, "seen_at": now},
            )
            cls.objects.filter(seen_at__lt=now - FORGOTTEN_AFTER).delete()

    @property
    def age(self) -> timedelta:
        return timezone.now() - self.seen_at
