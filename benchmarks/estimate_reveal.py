"""The `/estimate` reveal on its own: the combined estimate (`bot.features.estimates.estimation.combine`) and the
chart (`bot.features.estimates.chart.render_chart`) for a big round, one thread, no Slack, no database.

    python -m benchmarks.estimate_reveal              # 30 estimators x 15 tasks, 20,000 samples
    python -m benchmarks.estimate_reveal --smoke      # CI size: 5 runs, 3 renders
    python -m benchmarks.estimate_reveal --people 10 --tasks 3 --runs 200

Rows (p50/p95/max ms, nearest rank):
- ``floor``: numpy alone drawing the same number of beta variates (samples x tasks) with one
  shape per task and summing them: what any vectorised Monte Carlo of this size costs here.
- ``combine``: the whole reveal computation: every person's PERT widened to their confidence,
  the pooled draws, percentiles, spreads and outliers (a new seed each run).
- ``chart``: one PNG with a bar per person, matplotlib already imported.
- ``first chart``: a new Python process importing matplotlib and rendering once (the cost the
  first reveal after a start pays), printed on its own line with the import alone.

Targets (issue 8): combine p95 < 100 ms, chart < 300 ms. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

import numpy as np

from benchmarks.ack_latency.report import percentile
from bot.features.estimates.chart import ChartRow, render_chart
from bot.features.estimates.estimation import (
    CONFIDENCES,
    FAMILIARITY_MULTIPLIER,
    Combined,
    PersonEstimate,
    combine,
)

COMBINE_TARGET_MS, CHART_TARGET_MS = 100.0, 300.0

_FIRST_CHART = """
import time
start = time.perf_counter()
import matplotlib.figure, matplotlib.backends.backend_agg
imported = time.perf_counter()
from benchmarks.estimate_reveal import make_round, chart_rows
from bot.features.estimates.chart import render_chart
from bot.features.estimates.estimation import combine
people, tasks = make_round({people}, {tasks}, seed=1)
result = combine(people, tasks, phase="requirements", samples=2_000)
before = time.perf_counter()
render_chart(chart_rows(result), result, "days", "First chart")
done = time.perf_counter()
print((imported - start) * 1000, (done - before) * 1000)
"""


def make_round(people: int, tasks: int, *, seed: int) -> tuple[list[PersonEstimate], list[str]]:
    """A round with made-up ranges in days: likely 0.5-10, best 40-100% of it, worst 1-3x."""
    rng = random.Random(seed)
    familiarity = list(FAMILIARITY_MULTIPLIER)
    estimates = []
    for n in range(people):
        ranges = []
        for _ in range(tasks):
            likely = round(rng.uniform(0.5, 10), 1)
            best = round(likely * rng.uniform(0.4, 1.0), 2)
            worst = round(likely * rng.uniform(1.0, 3.0), 2)
            ranges.append((best, likely, worst))
        estimates.append(
            PersonEstimate(
                user_id=f"U{n:04d}",
                ranges=ranges,
                confidence=rng.choice(CONFIDENCES),
                familiarity=rng.choice(familiarity),
            )
        )
    return estimates, [f"task {t + 1}" for t in range(tasks)]


def chart_rows(result: Combined) -> list[ChartRow]:
    """Each person's total as said (made up from the plan's) and, for every other person, the
    plan's adjusted range with why: the chart's worst case, half the rows with a second bar."""
    return [
        ChartRow(
            label=f"Person {n + 1}",
            said=(t.best * 0.8, t.likely * 0.8, t.worst * 0.7),
            adjusted=(t.best, t.likely, t.worst) if n % 2 else None,
            why="×1.5: similar to something we've done; widened: 80% sure" if n % 2 else "",
        )
        for n, t in enumerate(result.person_totals)
    ]


def _timed(run, repeats: int) -> list[float]:
    times = []
    for n in range(repeats):
        start = time.perf_counter()
        run(n)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--tasks", type=int, default=15)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="5 runs and 3 renders")
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.renders = 5, 3
    load_start = os.getloadavg()[0]
    people, tasks = make_round(args.people, args.tasks, seed=1)

    shape = (args.samples, args.tasks)
    rng = np.random.default_rng(0)
    alpha = np.broadcast_to(rng.uniform(1, 5, args.tasks), shape)
    beta = 6.0 - alpha

    def floor(n: int) -> None:
        np.random.default_rng(n).beta(alpha, beta).sum(axis=1)

    def reveal(n: int) -> None:
        combine(people, tasks, phase="requirements", samples=args.samples, seed=n)

    floor(0), reveal(0)  # warm-up: first calls allocate and fill caches
    rows = {
        "floor": _timed(floor, args.runs),
        "combine": _timed(reveal, args.runs),
    }
    result = combine(people, tasks, phase="requirements", samples=args.samples)
    figures = chart_rows(result)
    render_chart(figures, result, "days", "warm-up")
    png_bytes = len(render_chart(figures, result, "days", "Checkout redesign"))
    rows["chart"] = _timed(
        lambda n: render_chart(figures, result, "days", "Checkout redesign"), args.renders
    )

    first = subprocess.run(
        [sys.executable, "-c", _FIRST_CHART.format(people=args.people, tasks=args.tasks)],
        capture_output=True,
        text=True,
        check=True,
    )
    import_ms, first_render_ms = (float(v) for v in first.stdout.split())

    print(
        f"estimate reveal: {args.people} estimators x {args.tasks} tasks, "
        f"{args.samples:,} samples; {os.cpu_count()} cores, load {load_start:.1f} -> "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"{'row':8} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, times in rows.items():
        p50, p95 = percentile(times, 50), percentile(times, 95)
        print(f"{label:8} {len(times):4d} {p50:8.1f} {p95:8.1f} {max(times):8.1f}")
    print(
        f"first chart in a new process: import matplotlib {import_ms:.0f} ms, "
        f"then render {first_render_ms:.0f} ms; png {png_bytes / 1024:.0f} KiB"
    )
    print(
        f"pooled: 50% {result.p50:.1f} days, 90% {result.p90:.1f} days "
        f"({len(result.outliers)} tasks with outliers)"
    )
    for label, times, target in (
        ("combine p95", rows["combine"], COMBINE_TARGET_MS),
        ("chart p95", rows["chart"], CHART_TARGET_MS),
    ):
        p95 = percentile(times, 95)
        verdict = "PASS" if p95 < target else "MISS"
        print(f"{verdict} {label} < {target:.0f} ms: {p95:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
