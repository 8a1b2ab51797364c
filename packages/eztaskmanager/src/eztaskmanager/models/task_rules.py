"""What a task may ask for: the limits of its fields, and the rules a form checks on save.

:class:`TaskRules` is a base class of :class:`~eztaskmanager.models.Task`: ``clean()``
and ``refuse_run_changes()`` are the task's. The timeout's bound is the configured
backend's own rule (``TaskQueueService.refuse_timeout``), so that a form and a Start
refuse the same timeouts in the same words.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eztaskmanager import scheduling
from eztaskmanager.arguments import InvalidArguments, parse_arguments, split_arguments
from eztaskmanager.exceptions import ConfigurationError, TaskNotRunnable
from eztaskmanager.registry import get_backend
from eztaskmanager.validators import is_scheduling_year

# The longest timeout a task may ask for: 30 days. Longer runs go without a timeout.
MAX_TIMEOUT = 30 * 24 * 3600
# The longest arguments text: longer input belongs in a file that the command reads.
ARGUMENTS_MAX_LENGTH = 10_000
# How a secret argument is shown.
SECRET_MASK = "***"
# The largest repetition rate: what a small integer column holds on every database.
MAX_REPETITION_RATE = 32767
# A one-off scheduling this close to now counts as "now" (the admin's "Now" link, a slow
# form), not as a mistyped date in the past.
PAST_SCHEDULING_GRACE = timedelta(minutes=1)
# Retries: at most this many, each waiting at most a week, backing off at most tenfold.
MAX_RETRIES = 20
MAX_RETRY_DELAY = 7 * 24 * 3600
MAX_RETRY_BACKOFF = 10
# The fields that say what a run does and when: changing them on a task that is
# scheduled or queued changes what runs, which only users who may start tasks may do.
RUN_FIELDS = (
    "command",
    "arguments",
    "secret_arguments",
    "timeout",
    "scheduling",
    "repetition_period",
    "repetition_rate",
    "cron",
)


class TaskRules:
    """The checks of :class:`~eztaskmanager.models.Task` (see the module's docstring)."""

    def check_arguments(self, text: str | None) -> list[str]:
        """``text`` as argv items, once the task's command parses them; raise :class:`InvalidArguments`.

        The check of the task's own arguments, and of the arguments of one run that
        starts with others ("Run now with...").
        """
        if len(text or "") > ARGUMENTS_MAX_LENGTH:
            raise InvalidArguments(
                _("Arguments may be at most %(max)d characters long.")
                % {"max": ARGUMENTS_MAX_LENGTH}
            )
        argv = split_arguments(text)
        try:
            parse_arguments(
                self.command.get_command_class(), self.command.name, argv + self.secret_args
            )
        except InvalidArguments as exc:
            raise InvalidArguments(self.mask_secrets(str(exc))) from None
        return argv

    @property
    def secret_args(self) -> list[str]:
        """The argv items of the secret arguments, passed after the others."""
        return split_arguments(self.secret_arguments)

    def mask_secrets(self, text: str) -> str:
        """``text`` with each secret value shown as ``***`` (option names stay readable)."""
        for item in self.secret_args:
            name, equals, value = item.partition("=")
            secret = value if equals and name.startswith("-") else item
            if secret and not (secret.startswith("-") and not equals):
                text = text.replace(secret, SECRET_MASK)
        return text

    def clean(self) -> None:
        """Raise a :class:`ValidationError` naming each field that cannot run as it is."""
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.command_id is not None and len(self.arguments or "") <= ARGUMENTS_MAX_LENGTH:
            try:
                self.check_arguments(self.arguments)
            except InvalidArguments as exc:
                errors.setdefault("arguments", []).append(str(exc))
        if bool(self.repetition_period) != (self.repetition_rate is not None):
            errors.setdefault("repetition_rate", []).append(
                str(_("Set both the repetition period and rate, or neither."))
            )
        if self.cron:
            if len(self.cron.split()) != scheduling.CRON_FIELDS:
                why = str(
                    _(
                        "Write five fields: minute, hour, day of the month, month and day of "
                        "the week."
                    )
                )
            else:
                why = scheduling.cron_error(self.cron)
            if why:
                errors.setdefault("cron", []).append(why)
            if self.repetition_period or self.repetition_rate is not None:
                errors.setdefault("cron", []).append(
                    str(_("Use a cron expression or a repetition, not both."))
                )
        elif self.is_periodic and self.scheduling is None:
            errors.setdefault("scheduling", []).append(
                str(_("A periodic task needs an initial scheduling."))
            )
        if self._is_new_one_off_in_the_past():
            errors.setdefault("scheduling", []).append(
                str(
                    _(
                        "This date is in the past: choose a future one, or clear it to run "
                        "the task when it is started."
                    )
                )
            )
        if self.follows_id is not None and self.chain_loops():
            errors.setdefault("follows", []).append(
                str(
                    _(
                        "%(task)s starts after this task already, directly or through others: "
                        "a chain may not loop."
                    )
                    % {"task": self.follows}
                )
            )
        try:
            get_backend().refuse_timeout(self.timeout)
        except TaskNotRunnable as exc:
            errors.setdefault("timeout", []).append(str(exc))
        except ConfigurationError:
            pass  # no backend to ask: the system checks say so
        if errors:
            raise ValidationError(errors)

    def chain_loops(self) -> bool:
        """Whether following :attr:`follows` leads back to this task (a chain that loops)."""
        seen: set[int] = set()
        current = self.follows_id
        while current is not None and current not in seen:
            if current == self.pk:
                return True
            seen.add(current)
            current = (
                type(self).objects.filter(pk=current).values_list("follows_id", flat=True).first()
            )
        return False

    def _is_new_one_off_in_the_past(self) -> bool:
        """A one-off scheduling typed in the past (a periodic one moves to its next run).

        Only a new or changed scheduling counts: a task whose one-off time has come and gone
        stays editable.
        """
        if self.scheduling is None or self.is_periodic or not is_scheduling_year(self.scheduling):
            return False
        if self.scheduling >= timezone.now() - PAST_SCHEDULING_GRACE:
            return False
        if self.pk is None:
            return True
        stored = (
            type(self)
            .objects.filter(pk=self.pk)
            .values_list("scheduling", "repetition_period", "repetition_rate")
            .first()
        )
        return stored != (self.scheduling, self.repetition_period, self.repetition_rate)

    def refuse_run_changes(self, changed: list[str] | tuple[str, ...]) -> None:
        """Refuse changes to :data:`RUN_FIELDS` while a run of the task is arranged.

        For users who may not start tasks (no ``eztaskmanager.run_task``): on a task that is
        scheduled, or whose run is queued, a new command, arguments, timeout or schedule
        would be what the engine runs next, so they would make the task run something.
        Raises :class:`~django.core.exceptions.ValidationError` naming each refused field;
        anything else (name, note, category) may always change.
        """
        refused = [name for name in RUN_FIELDS if name in changed]
        if not refused or self.pk is None:
            return
        if self.stored_schedule():
            why = _(
                "The task is scheduled: only a user who may start tasks can change what it "
                "runs or when. Ask one to stop it, or to make this change."
            )
        elif self.active_runs().queued().exists():
            why = _(
                "A run of the task is queued: only a user who may start tasks can change what "
                "it runs. Wait until it has started, or ask one to make this change."
            )
        else:
            return
        raise ValidationError({name: [str(why)] for name in refused})
