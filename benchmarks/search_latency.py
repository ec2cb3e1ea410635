"""Search on its own: `storage.decisions.search_decisions` over N seeded decisions, one
thread, no HTTP. Prints p50/p95/max per store. Complements ack_latency's `search` rows.

    python -m benchmarks.search_latency                 # 100,000 decisions, SQLite and Postgres
    python -m benchmarks.search_latency --decisions 2000 --queries 50 --stores sqlite
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from benchmarks.ack_latency import TEAM, _search_terms, percentile, seed_decisions
from storage import decisions as repo
from storage.db import Database


def measure(url: str, decisions: int, queries: int) -> tuple[float, float, float, int]:
    db = Database(url)
    db.migrate()
    population = seed_decisions(db, decisions)
    rng = random.Random(3)
    texts = [_search_terms(rng) for _ in range(queries)]
    viewer = repo.Viewer(user_id=population.users[0], channel_id=population.public_channels[0])
    times: list[float] = []
    found = 0
    for text in texts:
        start = time.perf_counter()
        with db.read() as session:
            found += len(repo.search_decisions(session, team_id=TEAM, viewer=viewer, query=text))
        times.append((time.perf_counter() - start) * 1000)
    db.dispose()
    return percentile(times, 50), percentile(times, 95), max(times), found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    print(f"search_decisions, one thread, {args.decisions:,} decisions, {args.queries} queries")
    print(f"{'store':9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'results':>8}")
    for store in args.stores.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if store == "sqlite":
                figures = measure(
                    f"sqlite:///{Path(tmp) / 'search.db'}", args.decisions, args.queries
                )
            else:
                from tests.pg import PostgresServer

                with PostgresServer() as pg:
                    figures = measure(pg.url, args.decisions, args.queries)
        p50, p95, worst, found = figures
        print(f"{store:9} {p50:8.1f} {p95:8.1f} {worst:8.1f} {found:8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
