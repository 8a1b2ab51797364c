"""The one Markdown table of ``run_all.py``: every figure beside its floor, per database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Row:
    """One figure of one script on one database, as ``results.report`` wrote it (or a failure)."""

    script: str
    db: str
    name: str
    value: float | None = None
    unit: str = ""
    floor: float | None = None
    floor_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None

    @classmethod
    def from_json(cls, script: str, db: str, row: dict[str, Any]) -> Row:
        fields = ("name", "value", "unit", "floor", "floor_name", "ratio", "target", "met")
        return cls(script, db, **{key: row.get(key) for key in fields})


def failure_row(script: str, db: str, why: str, output: str) -> Row:
    """A row saying the script failed, with the last line it wrote."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    last = f": {lines[-1][:160]}" if lines else ""
    return Row(script, db, f"FAILED ({why}){last}", met=False)


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
        floor = number(row.floor, row.unit)
        if floor and row.floor_name:
            floor = f"{floor} ({row.floor_name})"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        figure = f"{row.script.removesuffix('.py')}: {row.name}"
        values = [figure, row.db, number(row.value, row.unit), floor, ratio, row.target, met]
        lines.append("| " + " | ".join(cell(value) for value in values) + " |")
    if missing:
        lines += ["", f"Not written yet (not run): {', '.join(missing)}."]
    if unlisted:
        lines += ["", f"Not in run_all's list (not run): {', '.join(unlisted)}."]
    if times:
        lines += ["", f"Time taken: {'; '.join(times)}."]
    return "\n".join(lines) + "\n"
