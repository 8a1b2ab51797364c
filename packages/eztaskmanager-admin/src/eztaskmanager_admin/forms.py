"""The task form: its scheduling fields in words, and the guard of who may change what runs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from eztaskmanager.models import Task

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
