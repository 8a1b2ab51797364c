"""Delete finished reports older than N days and drop old DEBUG lines; say what went.

Safe from cron (``eztaskmanager.retention``): short transactions, idempotent, a run that
goes on is never touched, two at once share the work. Exits 0 unless its options are wrong.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from eztaskmanager.conf import get_setting, is_age
from eztaskmanager.retention import DEFAULT_BATCH_SIZE, Figures, Pruned, prune


def _days(value: str) -> float:
    days = float(value)
    if not is_age(days):
        raise ValueError(value)
    return days


class Command(BaseCommand):
    help = (
        "Delete finished reports that ended more than --max-age days ago (each task's newest "
        "one kept) and the DEBUG lines of finished reports older than --debug-older-than "
        "days; print what was removed. Defaults: EZTASKMANAGER['REPORTS_MAX_AGE_DAYS'] and "
        "['DEBUG_LINES_MAX_AGE_DAYS']."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-age",
            type=_days,
            metavar="DAYS",
            help="Delete finished reports that ended more than DAYS days ago.",
        )
        parser.add_argument(
            "--debug-older-than",
            type=_days,
            metavar="DAYS",
            help="Drop the DEBUG lines of finished reports that ended more than DAYS days ago.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be removed; remove nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"Reports per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        max_age = options["max_age"]
        if max_age is None:
            max_age = _setting_days("REPORTS_MAX_AGE_DAYS")
        debug_age = options["debug_older_than"]
        if debug_age is None:
            debug_age = _setting_days("DEBUG_LINES_MAX_AGE_DAYS")
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        if max_age is None and debug_age is None:
            self.stdout.write(
                _(
                    "Nothing to prune: no age is set. Pass --max-age or --debug-older-than, "
                    'or set EZTASKMANAGER["REPORTS_MAX_AGE_DAYS"] or '
                    'EZTASKMANAGER["DEBUG_LINES_MAX_AGE_DAYS"].'
                )
            )
            return
        dry_run = options["dry_run"]
        pruned = prune(max_age, debug_age, batch_size=options["batch_size"], dry_run=dry_run)
        for line in summary(pruned, max_age, debug_age, dry_run, options["verbosity"]):
            self.stdout.write(line)


def _setting_days(key: str) -> float | None:
    value = get_setting(key)
    if value is None:
        return None
    try:
        return _days(value)
    except (TypeError, ValueError) as exc:
        raise CommandError(
            f'EZTASKMANAGER["{key}"] must be a number of days (or None), not {value!r}.'
        ) from exc


def _n(value: int) -> str:
    return number_format(value, force_grouping=True)


def _days_text(days: float) -> str:
    return f"{days:g}"


def summary(
    pruned: Pruned, max_age: float | None, debug_age: float | None, dry_run: bool, verbosity: int
) -> list[str]:
    """The command's report: totals per rule, then per task (verbosity 1 and up)."""
    total = pruned.total
    prefix = _("Dry run, nothing removed. ") if dry_run else ""
    lines: list[str] = []
    if max_age is not None:
        verb = _("would be deleted") if dry_run else _("deleted")
        lines.append(
            prefix
            + _(
                "Reports that ended more than %(days)s days ago: %(reports)s %(verb)s "
                "(%(lines)s log lines, %(artifacts)s artifacts)."
            )
            % {
                "days": _days_text(max_age),
                "reports": _n(total.reports),
                "verb": verb,
                "lines": _n(total.lines),
                "artifacts": _n(total.artifacts),
            }
        )
        lines += _per_task(pruned, verbosity, _report_figures)
    if debug_age is not None:
        verb = _("would be dropped") if dry_run else _("dropped")
        lines.append(
            prefix
            + _(
                "DEBUG lines of reports that ended more than %(days)s days ago: "
                "%(lines)s %(verb)s from %(reports)s reports."
            )
            % {
                "days": _days_text(debug_age),
                "lines": _n(total.debug_lines),
                "verb": verb,
                "reports": _n(total.debug_reports),
            }
        )
        lines += _per_task(pruned, verbosity, _debug_figures)
    return lines


def _report_figures(figures: Figures) -> str | None:
    if not figures.reports:
        return None
    return _("%(reports)s reports, %(lines)s lines, %(artifacts)s artifacts") % {
        "reports": _n(figures.reports),
        "lines": _n(figures.lines),
        "artifacts": _n(figures.artifacts),
    }


def _debug_figures(figures: Figures) -> str | None:
    if not figures.debug_lines:
        return None
    return _("%(lines)s lines from %(reports)s reports") % {
        "lines": _n(figures.debug_lines),
        "reports": _n(figures.debug_reports),
    }


def _per_task(pruned: Pruned, verbosity: int, describe: Any) -> list[str]:
    if verbosity < 1:
        return []
    lines = []
    for name in sorted(pruned.by_task):
        text = describe(pruned.by_task[name])
        if text:
            lines.append(f"  {name}: {text}")
    return lines
