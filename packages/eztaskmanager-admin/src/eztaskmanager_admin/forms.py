"""The task form: its scheduling fields in words, its queue, its secret arguments (never
shown), and the guards of who may change what runs."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import Task
from eztaskmanager.models.task_rules import SECRET_MASK
from eztaskmanager.permissions import command_allows
from eztaskmanager.services.queues import get_task_service

logger = logging.getLogger(__name__)

# The model's periods in words ("minutes"...), after an empty choice that says what it means.
REPETITION_CHOICES = [("", _("no repetition")), *Task.REPETITION_PERIOD_CHOICES]

# Labels and help of the form's scheduling fields: "Repeat every [6] [hours]".
FORM_WORDS = {
    "scheduling": (
        _("First run"),
        _("Empty: the task runs when Start is pressed."),
    ),
    "repetition_rate": (
        _("Repeat every"),
        _("With a period: every 6 hours is 6 and hours. Empty: one run only."),
    ),
    "repetition_period": (_("Period"), ""),
}


def guard_run_fields(form_class: type) -> type:
    """The task form of a user who may not start tasks (no ``run_task``).

    It refuses to change what a scheduled or queued task runs, or when
    (:meth:`Task.refuse_run_changes`): saving it would make the task run that.
    """

    def clean(self: Any) -> Any:
        cleaned_data = form_class.clean(self)
        try:
            self.instance.refuse_run_changes(self.changed_data)
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned_data

    return type(form_class.__name__, (form_class,), {"clean": clean})


class _Keep:
    """What the secret arguments' input sends when left empty: keep the stored value."""

    def __repr__(self) -> str:
        return "<keep the stored secret arguments>"


KEEP_SECRET = _Keep()


class SecretArgumentsWidget(forms.Textarea):
    """An always empty input for the secret arguments: whether some are stored is shown
    (``*** (set)``), never their value; empty keeps them, the clear box removes them."""

    template_name = "eztaskmanager_admin/widgets/secret_arguments.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"rows": 2, "cols": 80, "autocomplete": "off", "spellcheck": "false"}
        super().__init__({**base, **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, None, attrs)
        context["widget"]["value"] = ""
        context["widget"]["is_set"] = bool(value) and value is not KEEP_SECRET
        context["widget"]["mask"] = SECRET_MASK
        context["widget"]["clear_name"] = clear_name(name)
        return context

    def format_value(self, value: Any) -> None:
        return None

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        text = data.get(name) or ""
        if text.strip():
            return text
        return "" if data.get(clear_name(name)) else KEEP_SECRET

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and clear_name(name) not in data


def clear_name(name: str) -> str:
    return f"{name}_clear"


class SecretArgumentsField(forms.CharField):
    """The secret arguments: a new value, ``""`` to clear them, or :data:`KEEP_SECRET`."""

    widget = SecretArgumentsWidget

    def clean(self, value: Any) -> Any:
        return KEEP_SECRET if value is KEEP_SECRET else super().clean(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return data is not KEEP_SECRET and super().has_changed(initial, data)


# Fields with a default that may be left empty: the default applies.
DEFAULTED_FIELDS = ("retries", "retry_delay", "retry_backoff")


class TaskForm(forms.ModelForm):
    """The task's form; its queue is a choice of the backend's queues when it lists them.

    ``eztm_user`` (set by the admin on the form's class) may choose only the commands
    their groups are allowed to run.
    """

    eztm_user: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "secret_arguments" in self.fields:
            old = self.fields["secret_arguments"]
            self.fields["secret_arguments"] = SecretArgumentsField(
                label=old.label,
                help_text=old.help_text,
                required=False,
                max_length=old.max_length,
            )
        for name in DEFAULTED_FIELDS:
            if name in self.fields:
                self.fields[name].required = False
        self.queue_names = backend_queue_names()
        if "queue" in self.fields and self.queue_names:
            self.fields["queue"] = queue_choice(
                self.fields["queue"], self.queue_names, self.initial.get("queue") or ""
            )

    def clean_secret_arguments(self) -> str:
        value = self.cleaned_data.get("secret_arguments")
        return self.instance.secret_arguments if value is KEEP_SECRET else value or ""

    def clean_command(self) -> Any:
        command = self.cleaned_data.get("command")
        user = self.eztm_user
        if (
            command is not None
            and user is not None
            and "command" in self.changed_data
            and not command_allows(user, command)
        ):
            raise ValidationError(
                _("You may not choose %(command)s: only other groups may run it."),
                code="command_not_allowed",
                params={"command": command},
            )
        return command

    def clean_retries(self) -> int:
        return self._or_default("retries")

    def clean_retry_delay(self) -> int:
        return self._or_default("retry_delay")

    def clean_retry_backoff(self) -> int:
        return self._or_default("retry_backoff")

    def _or_default(self, name: str) -> Any:
        """A field left empty (or out of a form written before it) takes the model's default."""
        value = self.cleaned_data.get(name)
        return Task._meta.get_field(name).default if value is None else value

    def clean_queue(self) -> str:
        queue = self.cleaned_data.get("queue") or ""
        if queue and self.queue_names and queue not in self.queue_names:
            raise ValidationError(
                _("The backend has no queue '%(queue)s'; choose one of its queues."),
                code="unknown_queue",
                params={"queue": queue},
            )
        return queue


def backend_queue_names() -> list[str]:
    """The configured backend's queues; none when it cannot say (its settings are wrong)."""
    try:
        return get_task_service().queue_names()
    except Exception:  # the form must open: the system checks report the backend's fault
        logger.warning("The backend could not list its queues", exc_info=True)
        return []


def queue_choice(field: forms.Field, names: list[str], current: str) -> forms.ChoiceField:
    """A select of ``names`` (blank: the default, the first), keeping a ``current`` unknown one."""
    choices = [("", _("default queue (%(name)s)") % {"name": names[0]})]
    choices += [(name, name) for name in names]
    if current and current not in names:
        # Shown as it is, so that saving another field never changes it silently.
        choices.append((current, _("%(name)s (not configured)") % {"name": current}))
    return forms.ChoiceField(
        choices=choices, required=False, label=field.label, help_text=field.help_text
    )
