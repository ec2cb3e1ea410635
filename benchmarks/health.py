"""Decision health at size (issue 25, "Speed"): ``/adr stats workspace`` over 100,000
decisions of one workspace, with their reviews, stances, blocks and forecasts. One process,
no Slack.

    python -m benchmarks.health                        # SQLite: 100,000 decisions, 50 runs
    python -m benchmarks.health --quick                # CI size: 2,000 decisions, 10 runs
    python -m benchmarks.health --postgres auto        # on a throwaway Postgres cluster
    python -m benchmarks.health --postgres postgresql+psycopg://...   # a fresh database of its
                                                       # own on that server, dropped after
    python -m benchmarks.health --explain              # and each statement's plan (1y)

Seeded (``Seeder``, multi-row inserts with explicit ids): decisions with the texts of
``benchmarks.ack_latency`` (its vocabulary: a sentence or two per section), spread evenly over three
years (a year holds a third of them) in 100 channels, 15% of them private; statuses as
``benchmarks.ack_latency.seed`` (proposed 30, accepted 50, rejected 8, deprecated 7,
superseded 5); a door on 70%; accepted ones accepted after a lead time (exponential, mean 4
days) or recorded as accepted (30%); deprecated and superseded ones ended some months after
acceptance; 1-3 people named on each; stances on 35% (agree 70, disagree and commit 20,
block 10), every Block a span, most resolved; one review per accepted decision, due 30
days after acceptance (answered 70%, unanswered 20%, open 10% once due), with an owner ask
and the dissenters' asks answered; forecasts on 40% (scored at the review's answer,
unscored when the decision ended first). Then ``ANALYZE`` (``VACUUM ANALYZE`` on Postgres).

Timed, ``--runs`` times each, in a read transaction of its own as a request would:
``flow(scope=workspace, period)`` for a member asking from a public channel (what
``/adr stats workspace 30d|90d|1y`` computes) and for the digest's shape (no viewer, 90
days); beside it, in the same run, one plain ``SELECT count(*) FROM decisions WHERE
team_id = ...``: the floor. Target (issue 25): p95 < 200 ms on SQLite and Postgres, printed
as PASS/MISS, never asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel

from benchmarks.ack_latency.report import percentile
from benchmarks.ack_latency.vocabulary import (
    CONSEQUENCES,
    CONTEXT,
    DECISION,
    OPTIONS,
    TITLES,
    _text,
)
from storage.db import Database
from storage.health import Period, Scope, flow
from storage.visibility import Viewer

TEAM = "T1"
TARGET_MS = 200.0
N_USERS, N_CHANNELS, PRIVATE_SHARE = 500, 100, 0.15
YEARS = 3
STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
STATUS_WEIGHTS = (30, 50, 8, 7, 5)
STANCES = ("agree", "disagree_and_commit", "block")
STANCE_WEIGHTS = (70, 20, 10)
OUTCOMES = ("worked", "partly", "didnt_work")
# proposed (issue 25): every review, ask, block and forecast is joined to its decision for the
# scope; with this index that lookup reads a small index entry instead of the wide decision row
SCOPE_INDEX = "ix_decisions_scope"
SCOPE_INDEX_DDL = (
    f"CREATE INDEX {SCOPE_INDEX} ON decisions (id, team_id, channel_private, channel_id, author_id)"
)
TABLES = (
    "decisions",
    "decision_members",
    "stances",
    "decision_blocks",
    "reviews",
    "review_asks",
    "forecasts",
)


class Seeder:
    """Rows with explicit ids per table, inserted in chunks; relations follow the ids."""

    def __init__(self, db: Database, *, now: datetime, seed: int = 25) -> None:
        self.db, self.now, self.rng = db, now, random.Random(seed)
        self.users = [f"U{n:05d}" for n in range(1, N_USERS + 1)]
        self.channels = [f"C{n:05d}" for n in range(1, N_CHANNELS + 1)]
        self.private = set(self.channels[: int(N_CHANNELS * PRIVATE_SHARE)])
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self.ids = dict.fromkeys(TABLES, 0)

    def add(self, table: str, **values: Any) -> int:
        self.ids[table] += 1
        self.rows[table].append({"id": self.ids[table], **values})
        return self.ids[table]

    def flush(self) -> None:
        with self.db.engine.begin() as conn:
            if self.db.dialect == "postgresql":
                # consistent by construction: skip the per-row foreign-key triggers
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            for name in TABLES:
                rows, self.rows[name] = self.rows[name], []
                if rows:
                    conn.execute(SQLModel.metadata.tables[name].insert(), rows)

    def _after(self, at: datetime, mean_days: float) -> datetime:
        return at + timedelta(days=self.rng.expovariate(1 / mean_days))

    def decision(self, number: int, n: int) -> None:
        rng, now = self.rng, self.now
        start = now - timedelta(days=365 * YEARS)
        created = start + (now - start - timedelta(days=1)) * (number / n)
        status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
        channel = rng.choice(self.channels)
        author = rng.choice(self.users)
        accepted = closed = None
        if status in ("accepted", "deprecated", "superseded"):
            recorded_accepted = rng.random() < 0.3
            accepted = created if recorded_accepted else min(self._after(created, 4), now)
        if status in ("deprecated", "superseded") and accepted is not None:
            closed = min(self._after(accepted, 150), now)
        elif status == "rejected":
            closed = min(self._after(created, 5), now)
        d = self.add(
            "decisions",
            team_id=TEAM,
            enterprise_id=None,
            number=number,
            title=_text(rng, TITLES, 1, 1)[:200],
            context=_text(rng, CONTEXT, 1, 2),
            options=_text(rng, OPTIONS, 0, 1),
            decision=_text(rng, DECISION, 1, 2),
            consequences=_text(rng, CONSEQUENCES, 1, 1),
            success_criteria="",
            status=status,
            tags="",
            review_date=None,
            channel_id=channel,
            channel_private=channel in self.private,
            message_ts=f"{int(created.timestamp())}.{number:06d}",
            post_error=None,
            author_id=author,
            source_permalink=None,
            supersedes_id=None,
            superseded_by_id=None,
            extra_sections="[]",
            named_people="{}",
            door=rng.choices(("one_way", "two_way", None), weights=(30, 40, 30))[0],
            accepted_at=accepted,
            closed_at=closed,
            created_at=created,
            updated_at=closed or accepted or created,
        )
        for user in rng.sample(self.users, rng.randint(1, 3)):
            self.add("decision_members", team_id=TEAM, decision_id=d, user_id=user, role="decider")
        dissenters: list[str] = []
        if rng.random() < 0.35:
            for user in rng.sample(self.users, rng.randint(1, 4)):
                kind = rng.choices(STANCES, weights=STANCE_WEIGHTS)[0]
                at = created + timedelta(hours=rng.randint(1, 72))
                self.add(
                    "stances",
                    team_id=TEAM,
                    decision_id=d,
                    user_id=user,
                    kind=kind,
                    concern="",
                    change_my_mind="",
                    committed=kind == "disagree_and_commit",
                    reason="",
                    created_at=at,
                    updated_at=at,
                )
                if kind == "disagree_and_commit":
                    dissenters.append(user)
                elif kind == "block" and at < now:
                    resolved = self._after(at, 2) if rng.random() < 0.8 else None
                    resolved = resolved if resolved is None or resolved < now else None
                    self.add(
                        "decision_blocks",
                        team_id=TEAM,
                        decision_id=d,
                        user_id=user,
                        placed_at=at,
                        resolved_at=resolved,
                        resolution="withdrawn" if resolved else None,
                    )
        answered_at = self._review(d, author, dissenters, accepted)
        if rng.random() < 0.4:
            for user in rng.sample(self.users, rng.randint(1, 3)):
                state, scored_at, updated = "pending", None, created
                if answered_at is not None:
                    state, scored_at, updated = "scored", answered_at, answered_at
                elif closed is not None and status != "deprecated":
                    state, updated = "unscored", closed
                p = rng.choice((10, 25, 40, 50, 60, 75, 90, 95))
                self.add(
                    "forecasts",
                    team_id=TEAM,
                    decision_id=d,
                    user_id=user,
                    probability=p,
                    source="added",
                    state=state,
                    outcome=1.0 if state == "scored" else None,
                    brier=(p / 100 - 1) ** 2 if state == "scored" else None,
                    review_id=None,
                    scored_at=scored_at,
                    created_at=created,
                    updated_at=updated,
                )

    def _review(
        self, d: int, author: str, dissenters: list[str], accepted: datetime | None
    ) -> datetime | None:
        """One review 30 days after acceptance; when it was answered (None: not)."""
        if accepted is None:
            return None
        rng, now = self.rng, self.now
        due = accepted + timedelta(days=30)
        roll = rng.random()
        state, outcome, outcome_at = "scheduled", None, None
        if due < now:
            state = "answered" if roll < 0.7 else "unanswered" if roll < 0.9 else "open"
        if state == "answered":
            outcome_at = min(self._after(due, 3), now)
            outcome = rng.choice(OUTCOMES)
        r = self.add(
            "reviews",
            team_id=TEAM,
            decision_id=d,
            round=1,
            due_at=due,
            timezone="UTC",
            state=state,
            nudges_sent=0,
            outcome=outcome,
            outcome_by=author if outcome else None,
            outcome_at=outcome_at,
            created_at=accepted,
        )
        if state == "scheduled":
            return None
        asks = [(author, "owner", outcome, None)] + [
            (u, "dissenter", None, rng.choice(("yes", "no", "too_early")) if outcome else None)
            for u in dissenters
        ]
        for user, role, own_outcome, answer in asks:
            self.add(
                "review_asks",
                team_id=TEAM,
                review_id=r,
                user_id=user,
                role=role,
                concern="",
                channel_id=None,
                message_ts=None,
                outcome=own_outcome,
                what_happened="",
                evidence="",
                learned="",
                dissent_answer=answer,
                answered_at=outcome_at if (own_outcome or answer) else None,
            )
        return outcome_at


def seed(db: Database, n: int, *, now: datetime, chunk: int = 10_000) -> float:
    """``n`` decisions with everything around them; seconds taken (ANALYZE included)."""
    t0 = time.perf_counter()
    seeder = Seeder(db, now=now)
    for number in range(1, n + 1):
        seeder.decision(number, n)
        if number % chunk == 0:
            seeder.flush()
    seeder.flush()
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            for name in TABLES:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {name}))"
                )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        raw = db.engine.raw_connection()
        try:
            raw.execute("ANALYZE")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return time.perf_counter() - t0


@contextmanager
def _own_database(server_url: str) -> Iterator[Database]:
    """A fresh database of its own on the server at ``server_url``, dropped after."""
    from tests.support.pg import database_of_its_own

    with database_of_its_own(server_url, "health_bench") as url:
        db = Database(url)
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()


@contextmanager
def store(postgres: str | None, tmp: Path) -> Iterator[Database]:
    """A fresh SQLite file; a database of its own on a throwaway cluster (auto) or on the
    given server."""
    if postgres is None:
        db = Database(f"sqlite:///{tmp / 'health.db'}")
        db.migrate()
        try:
            yield db
        finally:
            db.dispose()
    elif postgres == "auto":
        from tests.support.pg import PostgresServer

        server = PostgresServer().start()
        try:
            with _own_database(server.url) as db:
                yield db
        finally:
            server.stop()
    else:
        with _own_database(postgres) as db:
            yield db


def timed(runs: int, work: Callable[[], object]) -> list[float]:
    """Milliseconds of each run (one warm-up run first, not counted)."""
    work()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def explain(db: Database, scope: Scope, period: Period) -> None:
    """Each statement's plan, with the period's parameters: the statement is run as
    ``flow`` runs it, with EXPLAIN put in front on its way to the database."""
    from sqlalchemy import event

    from storage import health

    params = {
        "team": scope.team_id,
        "channel": scope.channel_id or "",
        "since": period.since,
        "end": period.end,
    }
    prefix = "EXPLAIN ANALYZE " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "

    def explained(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> tuple[str, object]:
        return prefix + statement, parameters

    for build in (
        health._decisions_statement,
        health._others_statement,
        health._spans_statement,
    ):
        stmt = build(scope.channel_id is None, scope.viewer)
        with db.engine.connect() as conn:
            event.listen(conn, "before_cursor_execute", explained, retval=True)
            rows = conn.execute(stmt, params).all()
        print(f"-- {build.__name__}")
        for row in rows:
            print("   " + " | ".join(str(v) for v in row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--postgres", default=None, help="a Postgres URL, or auto (a throwaway cluster)"
    )
    parser.add_argument("--quick", action="store_true", help="CI size: 2,000 decisions, 10 runs")
    parser.add_argument("--explain", action="store_true", help="print each statement's plan")
    parser.add_argument(
        "--scope-index",
        action="store_true",
        help=f"create {SCOPE_INDEX} first (proposed: what a scoped join reads, index-only)",
    )
    args = parser.parse_args(argv)

    if args.quick:
        args.decisions, args.runs = 2_000, 10
    now = datetime.now(UTC)
    load = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory() as tmp,
        store(args.postgres, Path(tmp)) as db,
    ):
        if args.scope_index:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(SCOPE_INDEX_DDL)
        seconds = seed(db, args.decisions, now=now)
        jit = ""
        if db.dialect == "postgresql":
            with db.read() as s:
                jit = f", jit {s.execute(text('SHOW jit')).scalar_one()}"
        with db.read() as s:
            counts = {
                t: int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES
            }
        asker = Viewer("U00001", f"C{N_CHANNELS:05d}")  # a member, in a public channel
        cases = [
            (f"stats workspace {days_label}", Scope(TEAM, None, asker), days)
            for days, days_label in ((30, "30d"), (90, "90d"), (365, "1y"))
        ] + [("digest workspace 90d", Scope(TEAM), 90)]
        rows: list[tuple[str, list[float], int]] = []
        floor: list[float] = []

        def count() -> int:
            with db.read() as s:
                query = text("SELECT count(*) FROM decisions WHERE team_id = :t")
                return int(s.execute(query, {"t": TEAM}).scalar_one())

        for label, scope, days in cases:
            period = Period(days, now)

            def stats(scope: Scope = scope, period: Period = period) -> int:
                with db.read() as s:
                    return flow(s, scope=scope, period=period).recorded

            rows.append((label, timed(args.runs, stats), stats()))
            floor += timed(max(1, args.runs // len(cases)), count)
        rows.append(("count(*) floor", floor, count()))
        print(
            f"health: {db.dialect}, {args.decisions:,} decisions in one workspace (seeded in "
            f"{seconds:.1f} s: "
            + ", ".join(f"{counts[t]:,} {t}" for t in TABLES[1:])
            + f"){jit}{', ' + SCOPE_INDEX if args.scope_index else ''}; {args.runs} runs; {os.cpu_count()} cores, load {load:.1f} -> "
            f"{os.getloadavg()[0]:.1f}"
        )
        print(f"{'what':24} {'recorded':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for label, ms, recorded in rows:
            print(
                f"{label:24} {recorded:9,d} {statistics.median(ms):8.1f} "
                f"{percentile(ms, 95):8.1f} {max(ms):8.1f}"
            )
        for label, ms, _ in rows[:-1]:
            p95 = percentile(ms, 95)
            verdict = "PASS" if p95 < TARGET_MS and not math.isnan(p95) else "MISS"
            print(f"{verdict} {label} p95 < {TARGET_MS:.0f} ms: {p95:.1f} ms")
        if args.explain:
            explain(db, cases[2][1], Period(365, now))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
