"""The command line: the flags, and ``main()``, which runs every store and prints the report
(or, with the internal flags, is one of the child processes)."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.ack_latency.children import _emulator_main, _serve_main
from benchmarks.ack_latency.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_REQUESTS,
    SCENARIOS,
    TOPOLOGIES,
)
from benchmarks.ack_latency.report import (
    PostDelay,
    Row,
    _code_version,
    _loadavg,
    _say,
    print_report,
)
from benchmarks.ack_latency.runner import bench_store
from benchmarks.ack_latency.servers import Emulator, WorkerStop


def _csv_ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip()]


def _csv_words(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        words = [w.strip() for w in raw.split(",") if w.strip()]
        bad = [w for w in words if w not in allowed]
        if bad or not words:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return words

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.ack_latency",
        description="Ack latency (time to the HTTP response) of Decision Bot vs a bare Bolt "
        "app, over loopback, on SQLite and Postgres with N decisions stored.",
    )
    p.add_argument("--decisions", type=int, default=100_000, help="decisions to seed (100000)")
    p.add_argument(
        "--requests",
        type=int,
        default=DEFAULT_REQUESTS,
        help=f"measured requests per run, app and bare each ({DEFAULT_REQUESTS})",
    )
    p.add_argument(
        "--post-requests",
        type=int,
        default=200,
        help="submits timed to their channel post at concurrency 1, per store (200; 0: skip)",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny CI run: 2,000 decisions, 50 requests per run, 10 timed posts",
    )
    p.add_argument(
        "--stores", type=_csv_words(("sqlite", "postgres")), default=["sqlite", "postgres"]
    )
    p.add_argument("--scenarios", type=_csv_words(SCENARIOS), default=list(SCENARIOS))
    p.add_argument(
        "--dispatch",
        type=_csv_words(TOPOLOGIES),
        default=None,
        help="comma-separated topologies: embedded (serve's dispatcher in every gunicorn "
        "worker), worker (serve with DECISIONBOT_DISPATCHER=off + one `decisionbot worker` "
        "under nice -n 10). Default: embedded,worker (--smoke: embedded)",
    )
    p.add_argument(
        "--concurrency",
        type=_csv_ints,
        default=list(DEFAULT_CONCURRENCY),
        help="comma-separated (20); e.g. 1,20",
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2, as serve)")
    p.add_argument("--threads", type=int, default=8, help="threads per worker (8, as serve)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    # Internal entry points for the child processes.
    p.add_argument("--serve", choices=("app", "bare"), help=argparse.SUPPRESS)
    p.add_argument("--dispatcher", choices=("embedded", "off"), help=argparse.SUPPRESS)
    p.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--database-url", help=argparse.SUPPRESS)
    p.add_argument("--slack-api-url", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.emulator:
        return _emulator_main()
    if args.serve:
        return _serve_main(args)
    if args.smoke:
        args.decisions, args.requests, args.post_requests = 2_000, 50, 10
    if args.dispatch is None:
        args.dispatch = ["embedded"] if args.smoke else list(TOPOLOGIES)

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM both unwind through the clean-up below (SIGINT explicitly: a
        # background job of a non-interactive shell starts with SIGINT ignored).
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="ack-latency-"))
    load_at_start = _loadavg()
    version_at_start = _code_version()
    rows: list[Row] = []
    posts: list[PostDelay] = []
    stops: list[WorkerStop] = []
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            emulator = Emulator()
            stack.callback(emulator.stop)
            for store in args.stores:
                store_rows, store_posts, store_stops = bench_store(store, args, emulator, workdir)
                rows += store_rows
                posts += store_posts
                stops += store_stops
    except KeyboardInterrupt:
        _say("interrupted; servers and temp dirs cleaned up")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    print_report(
        args,
        rows,
        posts,
        stops,
        started=started,
        load_at_start=load_at_start,
        version_at_start=version_at_start,
    )
    return 1 if any(not st.ok for st in stops) else 0
