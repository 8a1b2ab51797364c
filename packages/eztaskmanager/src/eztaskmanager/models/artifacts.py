"""Files a run leaves behind (``LoggerEnabledCommand.add_artifact``), kept with Django's
storage API in the storage ``EZTASKMANAGER["ARTIFACTS_STORAGE"]`` names."""

from __future__ import annotations

from django.core.files.storage import Storage, storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager.conf import get_setting


def artifacts_storage() -> Storage:
    """The storage of artifacts: an alias of ``settings.STORAGES`` (default ``"default"``)."""
    return storages[get_setting("ARTIFACTS_STORAGE")]


def artifact_path(artifact: Artifact, filename: str) -> str:
    """Where an artifact's file goes: a folder per report."""
    return f"eztaskmanager/artifacts/{artifact.report_id}/{filename}"


class Artifact(models.Model):
    """One file attached to a run's report; its file is deleted with it."""

    report = models.ForeignKey(
        "LaunchReport",
        on_delete=models.CASCADE,
        related_name="artifacts",
        verbose_name=_("report"),
    )
    name = models.CharField(_("name"), max_length=255)
    file = models.FileField(
        _("file"), storage=artifacts_storage, upload_to=artifact_path, max_length=500
    )
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("artifact")
        verbose_name_plural = _("artifacts")
        ordering = ["report", "created_at", "pk"]

    def __str__(self) -> str:
        return self.name
