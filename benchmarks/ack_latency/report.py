"""Figures and what is printed: percentiles, the table, the post delays, the PASS/MISS lines
of the targets, the summary and the JSON file, and the progress lines on stderr."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.ack_latency.config import (
    RATIO_SCENARIOS,
    ROOT,
    SCENARIO_LEGEND,
    TARGET_MIN_REQUESTS,
    TARGET_POST_P95_MS,
    TARGET_RATIO,
    TARGET_SEARCH_AT,
    TARGET_SEARCH_P95_MS,
    WORKER_NICE,
)
from benchmarks.ack_latency.scenarios import Run
from benchmarks.ack_latency.servers import WorkerStop


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


@dataclass
class Figures:
    n: int
    errors: int
    p50: float
    p95: float
    p99: float
    rps: float
    # CPU (user + system) per request sent, warm-up included, measured until the post-ack
    # work (the dispatcher's Slack calls and writes) is done: of the server's processes, and
    # of the Postgres cluster (NaN on SQLite, where the database is in the server's processes).
    cpu_ms: float = math.nan
    db_cpu_ms: float = math.nan
    # The separate `decisionbot worker` process (worker topology only; NaN otherwise).
    worker_cpu_ms: float = math.nan

    @classmethod
    def of(
        cls,
        run: Run,
        cpu_s: float = math.nan,
        db_cpu_s: float = math.nan,
        worker_cpu_s: float = math.nan,
    ) -> Figures:
        lat = run.latencies_ms
        sent = run.sent or run.n
        return cls(
            run.n,
            run.errors,
            percentile(lat, 50),
            percentile(lat, 95),
            percentile(lat, 99),
            run.n / run.wall_s if run.wall_s > 0 else math.nan,
            cpu_s * 1000.0 / sent if sent else math.nan,
            db_cpu_s * 1000.0 / sent if sent else math.nan,
            worker_cpu_s * 1000.0 / sent if sent else math.nan,
        )


@dataclass
class Row:
    store: str
    topology: str  # embedded | worker
    scenario: str
    concurrency: int
    app: Figures
    bare: Figures

    @property
    def label(self) -> str:
        return f"{self.store}/{self.topology}"

    @property
    def ratio_p50(self) -> float:
        return self.app.p50 / self.bare.p50 if self.bare.p50 else math.nan

    @property
    def ratio_p99(self) -> float:
        return self.app.p99 / self.bare.p99 if self.bare.p99 else math.nan


@dataclass
class PostDelay:
    """Submit's HTTP response -> the emulator receiving that decision's chat.postMessage."""

    store: str
    topology: str
    n: int
    missing: int  # no post within the timeout
    delays_ms: list[float]

    @property
    def label(self) -> str:
        return f"{self.store}/{self.topology}"

    @property
    def judged(self) -> bool:
        """Counts for the post-delay target: a separate worker on SQLite polls every second
        (no LISTEN/NOTIFY), so that topology's target is judged on Postgres only."""
        return not (self.store == "sqlite" and self.topology == "worker")

    @property
    def p50(self) -> float:
        return percentile(self.delays_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.delays_ms, 95)

    @property
    def max(self) -> float:
        return max(self.delays_ms) if self.delays_ms else math.nan


def _ms(value: float, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"


def format_table(rows: list[Row]) -> str:
    head = (
        f"{'store/topology':<18}{'scenario':<9}{'conc':>5}{'n':>6} |"
        f"{'p50':>7}{'p95':>7}{'p99':>7}{'err':>4}{'req/s':>6}{'cpu':>6}{'wrk':>6}{'db':>5} |"
        f"{'bare p50':>9}{'p95':>6}{'p99':>6}{'err':>4}{'req/s':>6}{'cpu':>5} |"
        f"{'ratio p50':>10}{'p99':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        a, b = r.app, r.bare
        lines.append(
            f"{r.label:<18}{r.scenario:<9}{r.concurrency:>5}{a.n:>6} |"
            f"{a.p50:>7.1f}{a.p95:>7.1f}{a.p99:>7.1f}{a.errors:>4}{a.rps:>6.0f}"
            f"{_ms(a.cpu_ms, 6)}{_ms(a.worker_cpu_ms, 6)}{_ms(a.db_cpu_ms, 5)} |"
            f"{b.p50:>9.1f}{b.p95:>6.1f}{b.p99:>6.1f}{b.errors:>4}{b.rps:>6.0f}"
            f"{_ms(b.cpu_ms, 5)} |"
            f"{r.ratio_p50:>10.2f}{r.ratio_p99:>6.2f}"
        )
    return "\n".join(lines)


def format_posts(posts: list[PostDelay]) -> str:
    lines = []
    for p in posts:
        how = ""
        if p.topology == "worker":
            how = (
                " (separate worker woken by LISTEN/NOTIFY)"
                if p.store == "postgres"
                else " (separate worker polling every second; not judged)"
            )
        lines.append(
            f"submit -> channel post, {p.label}, concurrency 1, n {p.n}: "
            f"p50 {p.p50:.1f} ms, p95 {p.p95:.1f} ms, max {p.max:.1f} ms, "
            f"missing {p.missing}{how}"
        )
    return "\n".join(lines)


def _worst(rows: list[Row], key: Callable[[Row], float]) -> Row:
    return max(rows, key=lambda r: -math.inf if math.isnan(key(r)) else key(r))


def evaluate_targets(
    rows: list[Row], posts: list[PostDelay], decisions: int
) -> list[dict[str, Any]]:
    """The targets of issue 6."""
    targets: list[dict[str, Any]] = []
    at20 = [r for r in rows if r.concurrency == 20]
    note = "" if decisions >= TARGET_SEARCH_AT else f" [measured at {decisions:,} decisions]"
    ratio_rows = [r for r in at20 if r.scenario in RATIO_SCENARIOS]
    label = (
        f"p99 ratio to bare Bolt <= {TARGET_RATIO:g} at concurrency 20 "
        f"({', '.join(RATIO_SCENARIOS)})"
    )
    if ratio_rows:
        worst = _worst(ratio_rows, lambda r: r.ratio_p99)
        detail = ", ".join(f"{r.label}/{r.scenario} {r.ratio_p99:.2f}" for r in ratio_rows)
        targets.append(
            {
                "target": label,
                "ok": all(r.ratio_p99 <= TARGET_RATIO for r in ratio_rows),
                "figure": f"worst {worst.label}/{worst.scenario} {worst.ratio_p99:.2f} "
                f"({detail}){note}",
            }
        )
    else:
        targets.append({"target": label, "ok": None, "figure": "not measured"})
    label = f">= {TARGET_MIN_REQUESTS:,} measured requests per row"
    if rows:
        fewest = min(min(r.app.n, r.bare.n) for r in rows)
        targets.append(
            {"target": label, "ok": fewest >= TARGET_MIN_REQUESTS, "figure": f"fewest {fewest}"}
        )
    label = (
        f"search p95 < {TARGET_SEARCH_P95_MS:.0f} ms at concurrency 20, "
        f"{TARGET_SEARCH_AT:,} decisions"
    )
    search = [r for r in at20 if r.scenario == "search"]
    if search:
        worst = _worst(search, lambda r: r.app.p95)
        detail = ", ".join(f"{r.label} {r.app.p95:.1f}" for r in search)
        targets.append(
            {
                "target": label,
                "ok": all(r.app.p95 < TARGET_SEARCH_P95_MS for r in search),
                "figure": f"worst {worst.label} p95 {worst.app.p95:.1f} ms ({detail}){note}",
            }
        )
    else:
        targets.append({"target": label, "ok": None, "figure": "not measured"})
    label = f"submit -> channel post p95 < {TARGET_POST_P95_MS:.0f} ms at concurrency 1"
    judged = [p for p in posts if p.judged]
    if judged:
        worst_post = max(judged, key=lambda p: -math.inf if math.isnan(p.p95) else p.p95)
        detail = ", ".join(f"{p.label} p50 {p.p50:.1f} p95 {p.p95:.1f}" for p in judged)
        unjudged = "".join(
            f"; not judged: {p.label} p50 {p.p50:.1f} p95 {p.p95:.1f} (polls every second)"
            for p in posts
            if not p.judged
        )
        targets.append(
            {
                "target": label,
                "ok": all(p.p95 < TARGET_POST_P95_MS and not p.missing for p in judged),
                "figure": f"worst {worst_post.label} p95 {worst_post.p95:.1f} ms ({detail}; "
                f"missing {sum(p.missing for p in judged)}{unjudged})",
            }
        )
    else:
        targets.append({"target": label, "ok": None, "figure": "not measured"})
    return targets


def format_targets(targets: list[dict[str, Any]]) -> str:
    out = []
    for t in targets:
        verdict = {True: "PASS", False: "MISS", None: "N/A "}[t["ok"]]
        out.append(f"{verdict}  {t['target']}: {t['figure']}")
    return "\n".join(out)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _code_version() -> str:
    """The last commit of the app's code (bot/, storage/, prompts/) being measured: the tree
    is shared and can change under a long run."""
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", "bot", "storage", "prompts"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "bot", "storage"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes in bot/ or storage/" if changed else "")


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def print_report(
    args: argparse.Namespace,
    rows: list[Row],
    posts: list[PostDelay],
    stops: list[WorkerStop],
    *,
    started: float,
    load_at_start: str,
    version_at_start: str,
) -> None:
    """The summary on stdout after a run (and ``--json``'s file)."""
    targets = evaluate_targets(rows, posts, args.decisions)
    load_at_end = _loadavg()
    version = _code_version()
    if version != version_at_start:
        version = f"{version_at_start} at start, {version} at end"
    print()
    print(
        f"Ack latency: time to HTTP response over loopback, ms. {args.decisions:,} decisions, "
        f"{args.requests} measured requests per run, gunicorn gthread {args.workers}x"
        f"{args.threads}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        f"app = decisionbot serve; topology embedded = its dispatcher in every gunicorn "
        f"worker, worker = serve with DECISIONBOT_DISPATCHER=off + one `decisionbot worker` "
        f"under nice -n {WORKER_NICE}; bare = Bolt app whose listeners only ack. cpu = serve "
        f"processes' CPU ms per request (warm-up included) until its post-ack work is done; "
        f"wrk = the worker process's CPU ms per request (worker topology); db = Postgres "
        f"cluster CPU ms per request. "
        f"App code at commit {version}. "
        f"Load average at start {load_at_start}, at end {load_at_end}."
    )
    print(format_table(rows))
    for name in dict.fromkeys(r.scenario for r in rows):
        print(f"  {name:<7} = {SCENARIO_LEGEND[name]}")
    if posts:
        print()
        print(format_posts(posts))
    if stops:
        print()
        for st in stops:
            print(
                f"{st.store}/worker: decisionbot worker on SIGTERM: exit {st.exit_code}"
                + ("" if math.isnan(st.stop_s) else f" in {st.stop_s:.1f} s")
                + f", {st.summary or 'no `worker stopped:` line'}"
                + ("" if st.ok else "  <-- NOT A CLEAN EXIT")
            )
    print()
    print(format_targets(targets))
    print(f"(total {time.perf_counter() - started:.0f} s)")
    if any(not st.ok for st in stops):
        _say("a decisionbot worker did not exit 0 on SIGTERM (see above)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "decisions": args.decisions,
                    "requests": args.requests,
                    "post_requests": args.post_requests,
                    "workers": args.workers,
                    "threads": args.threads,
                    "cpus": os.cpu_count(),
                    "code": version,
                    "dispatch": args.dispatch,
                    "load_average": {"start": load_at_start, "end": load_at_end},
                    "rows": [
                        {
                            "store": r.store,
                            "topology": r.topology,
                            "scenario": r.scenario,
                            "concurrency": r.concurrency,
                            "app": asdict(r.app),
                            "bare": asdict(r.bare),
                            "ratio_p50": r.ratio_p50,
                            "ratio_p99": r.ratio_p99,
                        }
                        for r in rows
                    ],
                    "posts": [
                        {
                            "store": p.store,
                            "topology": p.topology,
                            "judged": p.judged,
                            "n": p.n,
                            "missing": p.missing,
                            "p50_ms": p.p50,
                            "p95_ms": p.p95,
                            "max_ms": p.max,
                        }
                        for p in posts
                    ],
                    "worker_stops": [asdict(st) | {"ok": st.ok} for st in stops],
                    "targets": targets,
                },
                indent=2,
            )
        )
