"""`/adr stats`'s charts on their own (`bot.features.health.charts`): each of the four PNGs for
a year of figures (13 months, every calibration bin, the team's beside the asker's), one
thread, no Slack, no database; beside them, in the same run, an empty figure of the same size
rendered the same way (the floor: what any PNG of this size costs here).

    python -m benchmarks.health_charts                # 20 renders per row
    python -m benchmarks.health_charts --quick        # CI size: 3 renders per row

Rows (p50/p95/max ms, nearest rank), matplotlib already imported and one warm-up render of
each chart first; the import alone in a new process is printed on its own line. Target (issue
26): each chart p95 < 300 ms. PASS/MISS printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from benchmarks.ack_latency.report import percentile
from bot.core import charts as core_charts
from bot.features.health.charts import ChartData, empty_figure, stats_charts
from storage.forecasts import CalibrationBin
from storage.health_series import MonthFigures
from storage.models import Outcome

CHART_TARGET_MS = 300.0
PROBABILITIES = (10, 25, 40, 50, 60, 75, 90, 95)

_IMPORT = """
import time
start = time.perf_counter()
import matplotlib.figure, matplotlib.backends.backend_agg
print((time.perf_counter() - start) * 1000)
"""


def year_of_figures() -> ChartData:
    """Thirteen months of made-up figures and every calibration bin, the team's too."""
    months = tuple(
        MonthFigures(
            month=f"{2026 + (m + 11) // 12 - 1:04d}-{(m + 11) % 12 + 1:02d}",
            lead_median=timedelta(days=1 + m % 5, hours=m),
            lead_decisions=10 + m,
            accepted=12 + m,
            reversed_=m % 3,
            outcomes={o.value: (m + i) % 4 for i, o in enumerate(Outcome)},
        )
        for m in range(13)
    )
    own = tuple(
        CalibrationBin(p, 3 + i, min(1.0, p / 100 + 0.05)) for i, p in enumerate(PROBABILITIES)
    )
    team = tuple(CalibrationBin(p, 20 + i, p / 100) for i, p in enumerate(PROBABILITIES))
    return ChartData(own=own, team=team, months=months)


def _timed(run: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="3 renders per row")
    args = parser.parse_args(argv)
    if args.quick:
        args.renders = 3
    load_start = os.getloadavg()[0]
    found = stats_charts(year_of_figures())
    rows: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    core_charts.render(empty_figure)  # warm-up: the fonts found, the first figure made
    rows["empty figure"] = _timed(lambda: core_charts.render(empty_figure), args.renders)
    for chart in found:
        sizes[chart.filename] = len(chart.png())  # warm-up
        rows[chart.filename] = _timed(chart.png, args.renders)
    imported = subprocess.run(
        [sys.executable, "-c", _IMPORT], capture_output=True, text=True, check=True
    )
    print(
        f"health charts: 13 months, {len(PROBABILITIES)} calibration bins; "
        f"{os.cpu_count()} cores, load {load_start:.1f} -> {os.getloadavg()[0]:.1f}; "
        f"fonts {', '.join(core_charts.families())}"
    )
    print(f"{'row':16} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KiB':>5}")
    for label, times in rows.items():
        p50, p95 = percentile(times, 50), percentile(times, 95)
        size = f"{sizes[label] / 1024:5.0f}" if label in sizes else f"{'':5}"
        print(f"{label:16} {len(times):4d} {p50:8.1f} {p95:8.1f} {max(times):8.1f} {size}")
    print(f"import matplotlib in a new process: {float(imported.stdout):.0f} ms")
    for chart in found:
        p95 = percentile(rows[chart.filename], 95)
        verdict = "PASS" if p95 < CHART_TARGET_MS else "MISS"
        print(f"{verdict} {chart.filename} p95 < {CHART_TARGET_MS:.0f} ms: {p95:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
