"""The collected management commands, and the categories that group tasks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from eztaskmanager.arguments import InvalidArguments, load_command


class AppCommand(models.Model):
    """A management command of one of the project's apps, collected by ``collectcommands``."""

    name = models.CharField(_("name"), max_length=100)
    app_name = models.CharField(_("app name"), max_length=255)
    active = models.BooleanField(
        _("active"), default=False, help_text=_("Only active commands can be used by tasks.")
    )
    allowed_groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="+",
        verbose_name=_("groups allowed to run it"),
        help_text=_(
            "Only members of these groups (and superusers) may start its tasks; "
            "empty: every user who may start tasks."
        ),
    )

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("command")
        verbose_name_plural = _("commands")
        ordering = ["app_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["app_name", "name"], name="eztaskmanager_unique_command"
            )
        ]

    def __str__(self) -> str:
        return f"{self.app_name}: {self.name}"

    def get_command_class(self):
        """Return an instance of the command (Django's loader returns instances)."""
        return load_command(self.app_name, self.name)

    @property
    def help_text(self) -> str:
        """The command's full ``--help`` text."""
        try:
            return self.get_command_class().create_parser("manage.py", self.name).format_help()
        except InvalidArguments as exc:
            return str(exc)


class TaskCategory(models.Model):
    """A group of tasks, to filter long task lists."""

    name = models.CharField(_("name"), max_length=255, unique=True)

    class Meta:
        app_label = "eztaskmanager"
        verbose_name = _("task category")
        verbose_name_plural = _("task categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
