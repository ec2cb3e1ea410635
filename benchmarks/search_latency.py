"""Search on its own: `storage.search.search_decisions` over N seeded decisions, one
thread, no HTTP. Prints p50/p95/max per store, overall and per kind of search (a word found
nowhere, one word, two words). Complements ack_latency's `search` rows.

    python -m benchmarks.search_latency                 # 100,000 decisions, SQLite and Postgres
    python -m benchmarks.search_latency --decisions 2000 --queries 50 --stores sqlite
    python -m benchmarks.search_latency --decisions 1000000 --url postgresql+psycopg://...

With --url the one store at that URL is measured; it is seeded only if it holds no decisions
yet (so a seeded database can be measured again after a change without seeding it again).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.ack_latency.config import TEAM
from benchmarks.ack_latency.report import percentile
from benchmarks.ack_latency.seed import _population, seed_decisions
from benchmarks.ack_latency.vocabulary import MISSING_WORDS, _search_terms
from storage import search
from storage.db import Database
from storage.models import Decision
from storage.visibility import Viewer

KINDS = ("missing", "one word", "two words")


def kind_of(text: str) -> str:
    if text in MISSING_WORDS:
        return "missing"
    return "two words" if " " in text else "one word"


def measure(url: str, decisions: int, queries: int) -> dict[str, tuple[list[float], int]]:
    """Milliseconds per search and results found, by kind of search and overall (``all``)."""
    db = Database(url)
    db.migrate()
    with db.read() as session:
        seeded = session.execute(select(func.count()).select_from(Decision))
        existing = int(seeded.scalar_one())
    if existing == 0:
        population = seed_decisions(db, decisions)
        users, public = population.users, population.public_channels
    else:  # seeded by an earlier run (--url): the same people and channels
        users, channels, private = _population()
        public = [c for c in channels if c not in private]
        print(f"  ({existing:,} decisions already there: not seeded)")
    rng = random.Random(3)
    texts = [_search_terms(rng) for _ in range(queries)]
    viewer = Viewer(user_id=users[0], channel_id=public[0])
    by_kind: dict[str, tuple[list[float], int]] = {k: ([], 0) for k in ("all", *KINDS)}
    for text in texts:
        start = time.perf_counter()
        with db.read() as session:
            found = len(search.search_decisions(session, team_id=TEAM, viewer=viewer, query=text))
        ms = (time.perf_counter() - start) * 1000
        for key in ("all", kind_of(text)):
            times, total = by_kind[key]
            times.append(ms)
            by_kind[key] = (times, total + found)
    db.dispose()
    return by_kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--url", help="measure (and seed if empty) this database instead")
    args = parser.parse_args(argv)
    print(f"search_decisions, one thread, {args.decisions:,} decisions, {args.queries} queries")
    header = f"{'store':9} {'search':10} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header + f" {'results':>8}")
    stores = ["url"] if args.url else args.stores.split(",")
    for store in stores:
        with tempfile.TemporaryDirectory() as tmp:
            if store == "url":
                store = args.url.split(":", 1)[0].split("+", 1)[0]
                figures = measure(args.url, args.decisions, args.queries)
            elif store == "sqlite":
                figures = measure(
                    f"sqlite:///{Path(tmp) / 'search.db'}", args.decisions, args.queries
                )
            else:
                from tests.support.pg import PostgresServer

                with PostgresServer() as pg:
                    figures = measure(pg.url, args.decisions, args.queries)
        for kind, (times, found) in figures.items():
            if not times:
                continue
            p50, p95, worst = percentile(times, 50), percentile(times, 95), max(times)
            print(
                f"{store:9} {kind:10} {len(times):4d} {p50:8.1f} {p95:8.1f} {worst:8.1f} {found:8d}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
