"""The one Markdown table of ``run_all.py``: every figure beside its floor, per database."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from benchmarks.results import Figure

FIGURE_FIELDS = tuple(field.name for field in fields(Figure))


@dataclass
class Row:
    """One figure of one script on one database, as ``results.report`` wrote it, or why the
    script gave none (``failure``)."""

    script: str
    db: str
    figure: Figure | None = None
    failure: str = ""

    @classmethod
    def from_json(cls, script: str, db: str, row: dict[str, Any]) -> Row:
        return cls(script, db, Figure(**{key: row[key] for key in FIGURE_FIELDS if key in row}))


def failure_row(script: str, db: str, why: str, output: str) -> Row:
    """A row saying the script failed, with the last line it wrote."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    last = f": {lines[-1][:160]}" if lines else ""
    return Row(script, db, failure=f"FAILED ({why}){last}")


def number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    whole = float(value).is_integer()
    digits = 0 if whole or abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}".strip()


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(
    header: list[str], rows: list[Row], missing: list[str], times: list[str], unlisted: list[str]
) -> str:
    """The header lines, the table, and what was not run."""
    lines = [*header, "", "| figure | db | value | floor | ratio | target | met |"]
    lines.append("|---|---|---|---|---|---|---|")
    for row in rows:
        figure = f"{row.script.removesuffix('.py')}: "
        f = row.figure
        if f is None:
            values = [figure + row.failure, row.db, "", "", "", "", "**no**"]
        else:
            floor = number(f.floor, f.unit)
            if floor and f.floor_name:
                floor = f"{floor} ({f.floor_name})"
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
            met = {True: "yes", False: "**no**", None: ""}[f.met]
            values = [figure + f.name, row.db, number(f.value, f.unit), floor, ratio, f.target, met]
        lines.append("| " + " | ".join(cell(value) for value in values) + " |")
    if missing:
        lines += ["", f"Not written yet (not run): {', '.join(missing)}."]
    if unlisted:
        lines += ["", f"Not in run_all's list (not run): {', '.join(unlisted)}."]
    if times:
        lines += ["", f"Time taken: {'; '.join(times)}."]
    return "\n".join(lines) + "\n"
