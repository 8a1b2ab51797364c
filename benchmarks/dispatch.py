"""What the two dispatch benchmarks (RQ, Celery) share: run sizes and their figures.

Each run is timed as a dict of columns in seconds: ``total`` (from the call that starts
it to the command's first line), ``call`` (that call alone) and, where the engine says
when the job was queued and started, ``to_queue`` (from the call to the job queued),
``to_job`` (from there to the job's start) and ``in_job`` (from there to the first line):
where the overhead is spent.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import NamedTuple

from benchmarks.results import Figure

# What issue 14 asks of a dispatch: at most this much later than the bare job, and at
# least this share of its throughput.
OVERHEAD_MS = 10.0
THROUGHPUT_SHARE = 0.6
# Seconds between two latency runs: each one measures an idle worker, as the latency of a
# Start is felt, rather than one still busy after the run before (RQ's worker closes the
# work-horse's connection and opens the next one's between jobs).
IDLE_PAUSE = 0.1
# Sequential runs and burst size: full, and --quick.
SIZES = {False: (50, 200), True: (15, 60)}
# Bursts of each kind, measured in turns (ours, the floor's, ours, ...): full, and --quick.
# One burst each moved by a third from run to run, the floor's as much as ours.
BURST_TURNS = {False: 3, True: 1}

Run = dict[str, float]


class Burst(NamedTuple):
    """A burst's runs per second, to the end of its last run and for its starting calls
    alone (``add()`` one after the other): the second caps the first."""

    rate: float
    calls_rate: float


def sizes(args: argparse.Namespace) -> tuple[int, int]:
    """Sequential runs and burst size: the options when given, else the mode's default."""
    runs, burst = SIZES[args.quick]
    return args.runs or runs, args.burst or burst


class Bursts(NamedTuple):
    """The median burst of each kind: ours, the bare job's, and the bare job's that
    records its start and end (:mod:`integration_tests.probe_records`)."""

    ours: Burst
    bare: Burst
    recorded: Burst


def bursts_in_turns(
    ours: Callable[[int], Burst],
    bare: Callable[[int], Burst],
    recorded: Callable[[int], Burst],
    quick: bool,
) -> Bursts:
    """Measure a burst of each kind in turn, :data:`BURST_TURNS` times (so that a busy
    moment of the machine hits all alike); the median of each kind."""
    kinds = (ours, bare, recorded)
    turns = [[kind(turn) for kind in kinds] for turn in range(BURST_TURNS[quick])]

    def median(measured: list[Burst]) -> Burst:
        return Burst(
            statistics.median(burst.rate for burst in measured),
            statistics.median(burst.calls_rate for burst in measured),
        )

    return Bursts(*(median(list(measured)) for measured in zip(*turns, strict=True)))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(fraction * (len(ordered) - 1)), len(ordered) - 1)]


def figures(
    eztm: list[Run],
    bare: list[Run],
    bursts: Bursts,
    call_names: tuple[str, str],
    floor_name: str,
) -> list[Figure]:
    """The figures of one run, each beside the bare job's measured in the same run."""

    def median(runs: list[Run], column: str) -> float:
        return statistics.median(run[column] for run in runs) * 1000

    def p95(runs: list[Run]) -> float:
        return percentile([run["total"] for run in runs], 0.95) * 1000

    ours, floor = median(eztm, "total"), median(bare, "total")
    overhead = ours - floor
    rows = [
        Figure(
            f"{call_names[0]} to first line, median",
            ours,
            "ms",
            floor,
            floor_name,
            f"<= floor + {OVERHEAD_MS:.0f} ms",
            overhead <= OVERHEAD_MS,
        ),
        Figure(
            "overhead over the floor, median",
            overhead,
            "ms",
            target=f"<= {OVERHEAD_MS:.0f} ms",
            met=overhead <= OVERHEAD_MS,
        ),
        Figure(f"{call_names[0]} to first line, p95", p95(eztm), "ms", p95(bare), floor_name),
        Figure(
            f"{call_names[0]} alone (floor: {call_names[1]})",
            median(eztm, "call"),
            "ms",
            median(bare, "call"),
            call_names[1],
        ),
    ]
    for column, name in (
        ("to_queue", f"{call_names[0]} to the job queued, median"),
        ("to_job", "job queued to job start, median"),
        ("in_job", "job start to first line, median"),
    ):
        if column in eztm[0]:
            rows.append(Figure(name, median(eztm, column), "ms", median(bare, column), floor_name))
    ours, floor_burst, recorded = bursts
    rows.append(
        Figure(
            "throughput, a burst at once (median)",
            ours.rate,
            "/s",
            floor_burst.rate,
            floor_name,
            f">= {THROUGHPUT_SHARE}x floor",
            ours.rate >= THROUGHPUT_SHARE * floor_burst.rate,
        )
    )
    # However fast the worker, the burst cannot end before its calls have all been made.
    rows.append(
        Figure(
            f"its ceiling: the burst's {call_names[0]} calls alone",
            ours.calls_rate,
            "/s",
            floor_burst.rate,
            floor_name,
        )
    )
    # What a durable start and end alone cost the bare job, and ours beside that floor.
    rows.append(
        Figure(
            "its floor with a durable start and end: the bare job + 2 UPDATEs",
            recorded.rate,
            "/s",
            floor_burst.rate,
            floor_name,
        )
    )
    rows.append(
        Figure(
            "throughput beside that floor",
            ours.rate,
            "/s",
            recorded.rate,
            f"{floor_name} + 2 UPDATEs",
        )
    )
    return rows
