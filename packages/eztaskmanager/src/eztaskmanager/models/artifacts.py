"""Files a run leaves behind (``LoggerEnabledCommand.add_artifact``), kept with Django's
storage API in the storage ``EZTASKMANAGER["ARTIFACTS_STORAGE"]`` names."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from eztaskmanager.conf import get_setting


class ArtifactsStorage(LazyObject):
    """The storage ``EZTASKMANAGER["ARTIFACTS_STORAGE"]`` names, found again once the
    settings change (as Django's ``default_storage`` is): the model's field keeps this one
    object, built when the model loads."""

    def _setup(self) -> None:
        self._wrapped = storages[get_setting("ARTIFACTS_STORAGE")]


artifacts = ArtifactsStorage()


@receiver(setting_changed)
def _forget_storage(setting: str, **kwargs: Any) -> None:
    if setting in ("STORAGES", "EZTASKMANAGER"):
        artifacts._wrapped = empty


def artifacts_storage() -> Storage:
    """The storage of artifacts: an alias of ``settings.STORAGES`` (default ``"default"``)."""
    return artifacts


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
