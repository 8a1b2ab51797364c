"""One shape for every benchmark's figures: a value beside its floor, measured in the same run.

Each script in ``benchmarks/`` builds :class:`Figure` rows and hands them to :func:`report`,
which prints them as a table and, with ``--json FILE``, writes them for ``run_all.py`` to
gather into one table. Ratios, not times, are what compare across machines.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    """One measured figure, its floor (the engine or library alone) and the target it has."""

    name: str
    value: float
    unit: str
    floor: float | None = None
    floor_name: str = ""
    # What is asked of it, in words ("<= 1.5x NullHandler"), and whether this run meets it.
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--quick`` (a smaller run, to see that it works) and ``--json FILE``."""
    parser.add_argument("--quick", action="store_true", help="a small run, minutes to seconds")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")


def report(title: str, figures: list[Figure], json_path: Path | None = None) -> None:
    """Print the figures as a table; write them to ``json_path`` too when given."""
    print(title)
    for f in figures:
        floor = f"{f.floor:10.2f} {f.unit:<4} {f.floor_name}" if f.floor is not None else ""
        ratio = f"{f.ratio:6.2f}x" if f.ratio is not None else ""
        met = {True: "met", False: "MISSED", None: ""}[f.met]
        print(f"  {f.name:<44} {f.value:10.2f} {f.unit:<4} {ratio:>8}  {floor}  {f.target} {met}")
    if json_path is not None:
        rows = [{**asdict(f), "ratio": f.ratio, "benchmark": title} for f in figures]
        json_path.write_text(json.dumps(rows, indent=2))
