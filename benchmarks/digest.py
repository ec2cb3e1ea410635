"""The weekly digest at size (issue 10, "Speed"): what building each of 500 channels' digest
costs — ``storage.digest.gather`` and ``bot.features.digest.views.digest_blocks`` in one ``db.read()``
— in a workspace of 20,000 decisions and 5,000 parking-lot items. One thread, in-process, no
Slack (its latency is excluded by the issue).

    python -m benchmarks.digest                       # SQLite: 20,000 decisions, 500 channels
    python -m benchmarks.digest --quick               # CI size: 2,000 decisions, 50 channels
    python -m benchmarks.digest --postgres postgresql+psycopg://...   # SQLite, then Postgres

Seeding (bulk Core inserts, one workspace T1 plus 1,000 decisions in T2 that no digest may
show): decisions across 500 channels (15% private) over two years; this week each channel gets
0–6 decisions, 9 channels 50 more and one channel (the last) 500 more, so some digests are
long; ~1.5 stances per decision, a ``created`` event for each and a ``status_changed`` one
for the accepted; a review for 30% (scheduled, open, answered or unanswered, with an owner
ask and sometimes a dissenter's answer); 1% superseded; 2,000 revealed estimate rounds with
stored figures, half with actuals; 5,000 parking items over 180 days (about half parked,
60% scored), with their events (parked, accepted, deferred, resurfaced). Postgres is
ANALYZEd after the load (autovacuum would); SQLite is not (the app never runs ANALYZE). With
``--postgres URL`` a database of its own is created on that server and dropped at the end.

Rows (ms per channel, nearest rank, one run per channel, channels interleaved):
- ``floor select 1``: ``db.read()`` with as many ``SELECT 1`` as a digest sends statements:
  the round trips alone.
- ``floor one query``: ``db.read()`` with one plain query for the channel's decisions of the
  week (what any digest must at least read).
- ``gather``: ``storage.digest.gather`` with every section, in ``db.read()``.
- ``digest``: ``gather`` and ``digest_blocks``: what the digest's work item spends before
  Slack.

The workspace-wide digest (every public channel; one per workspace) is timed 3 times on its
own line.

The schema's ``ix_decisions_team_channel_created`` (decisions by team, channel, time;
migration 0010) is what keeps SQLite under the target: ``--drop-index`` drops it first, to
show the difference (without it every statement that selects a channel's decisions reads all
of the workspace's).

Also printed: the total for all channels, the statements per digest (counted with
``before_cursor_execute``) for a channel with about 5 decisions this week and for the one with
500 (they must be equal), and PASS/MISS for the targets of issue 10 — per-channel digest p95
< 100 ms, all 500 < 30 s. Never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, func, select, text
from sqlalchemy.engine import make_url

from benchmarks.ack_latency.report import percentile
from bot.core.render import channel_link
from bot.features.digest.views import digest_blocks
from storage.db import Database, is_select, statements_sent
from storage.digest import QUERIES, Coverage, DigestData, gather
from storage.models import (
    Decision,
    DecisionEvent,
    DigestSection,
    EstimateRound,
    ParkingEvent,
    ParkingItem,
    Review,
    ReviewAsk,
    Stance,
)

TEAM, OTHER_TEAM = "T1", "T2"
BUILD_TARGET_MS, TOTAL_TARGET_S = 100.0, 30.0
PRIVATE_SHARE, N_USERS, HOT_CHANNELS, HOT_EXTRA, HOTTEST_EXTRA = 0.15, 300, 9, 50, 500
SECTIONS = tuple(DigestSection)
STATEMENTS = sum(QUERIES.values())
TITLES = (
    "Use Postgres for the event store",
    "Adopt trunk-based development",
    "Move the nightly export to a queue",
    "Retire the v1 reporting API",
    "Cache the pricing lookups for an hour",
    "Write the billing service in Go",
)
REQUESTS = (
    "Can we also export the report as CSV?",
    "While we're at it, add SSO for the admin console",
    "One more thing: dark mode for the dashboard",
    "Quick addition: a webhook when an invoice is paid",
)


@contextmanager
def _bench_database(postgres: str | None, tmp: str) -> Iterator[Database]:
    """A fresh SQLite file, or a fresh database of its own on the given Postgres server."""
    if postgres is None:
        db = Database(f"sqlite:///{Path(tmp) / 'digest.db'}")
        try:
            yield db
        finally:
            db.dispose()
        return
    name = f"digest_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database(make_url(postgres).set(database=name).render_as_string(hide_password=False))
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- seeding ---------------------------------------------------------------------------------


class Seeder:
    """Rows with explicit ids, inserted in chunks; relations follow the ids."""

    def __init__(self, db: Database, *, now: datetime, channels: int, seed: int = 1) -> None:
        self.db, self.now, self.rng = db, now, random.Random(seed)
        self.channels = [f"C{n:05d}" for n in range(channels)]
        self.private = set(self.rng.sample(self.channels, int(channels * PRIVATE_SHARE)))
        self.users = [f"U{n:05d}" for n in range(N_USERS)]
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.ids: dict[Any, int] = {}

    def add(self, model: Any, **values: Any) -> int:
        row_id = self.ids.get(model, 0) + 1
        self.ids[model] = row_id
        self.rows.setdefault(model, []).append({"id": row_id, **values})
        return row_id

    def flush(self) -> None:
        order = (
            Decision,
            Stance,
            DecisionEvent,
            Review,
            ReviewAsk,
            EstimateRound,
            ParkingItem,
            ParkingEvent,
        )
        for model in order:
            rows = self.rows.pop(model, [])
            table = model.__table__
            for lo in range(0, len(rows), 5_000):
                with self.db.engine.begin() as conn:
                    conn.execute(table.insert(), rows[lo : lo + 5_000])
        if self.db.dialect == "postgresql":
            with self.db.engine.begin() as conn:
                for model in order:
                    name = model.__tablename__
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )

    def who(self) -> str:
        return self.rng.choice(self.users)

    def decision(self, team: str, number: int, channel: str, created: datetime) -> int:
        rng = self.rng
        status = rng.choices(
            ("proposed", "accepted", "rejected", "deprecated"), weights=(35, 55, 5, 5)
        )[0]
        author = self.who()
        d = self.add(
            Decision,
            team_id=team,
            enterprise_id=None,
            number=number,
            title=f"{rng.choice(TITLES)} ({number})",
            context="Because.",
            options="",
            decision="We do it.",
            consequences="",
            success_criteria="",
            status=status,
            tags="",
            review_date=None,
            channel_id=channel,
            channel_private=channel in self.private,
            message_ts=None,
            post_error=None,
            author_id=author,
            source_permalink=None,
            supersedes_id=None,
            superseded_by_id=None,
            source_path=None,
            source_hash=None,
            extra_sections="[]",
            named_people="{}",
            created_at=created,
            updated_at=created,
        )
        self._event(team, d, author, "created", {"status": "proposed"}, created)
        voters = rng.sample(self.users, rng.choice((0, 1, 1, 2, 2, 3)))
        dissenters = []
        for user in voters:
            kind = rng.choices(("agree", "disagree_and_commit", "block"), weights=(75, 20, 5))[0]
            if kind == "disagree_and_commit":
                dissenters.append(user)
            at = min(created + timedelta(hours=rng.uniform(1, 48)), self.now)
            self.add(
                Stance,
                team_id=team,
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
        if status == "accepted":
            at = min(created + timedelta(hours=rng.uniform(1, 24 * 14)), self.now)
            detail = {"from": "proposed", "to": "accepted"}
            self._event(team, d, author, "status_changed", detail, at)
        if rng.random() < 0.3:
            self._review(team, d, author, dissenters, created)
        return d

    def _event(
        self, team: str, decision: int, actor: str, kind: str, detail: Any, at: datetime
    ) -> None:
        self.add(
            DecisionEvent,
            team_id=team,
            decision_id=decision,
            actor_id=actor,
            kind=kind,
            detail=json.dumps(detail),
            created_at=at,
        )

    def _review(
        self, team: str, decision: int, author: str, dissenters: list[str], created: datetime
    ) -> None:
        rng = self.rng
        due = created + timedelta(days=rng.choice((30, 60, 90)))
        if due > self.now:
            state, outcome, outcome_at = "scheduled", None, None
        else:
            state = rng.choices(("open", "answered", "unanswered"), weights=(15, 65, 20))[0]
            outcome = (
                rng.choice(("worked", "partly", "didnt_work")) if state == "answered" else None
            )
            outcome_at = min(due + timedelta(days=rng.uniform(0, 6)), self.now) if outcome else None
        review = self.add(
            Review,
            team_id=team,
            decision_id=decision,
            round=1,
            due_at=due,
            timezone="UTC",
            state=state,
            nudges_sent=0,
            outcome=outcome,
            outcome_by=author if outcome else None,
            outcome_at=outcome_at,
            created_at=created,
        )
        if state == "scheduled":
            return
        asks = [(author, "owner", outcome)] + [(u, "dissenter", None) for u in dissenters]
        for user, role, answer in asks:
            dissent = rng.choice(("yes", "no", "too_early", None)) if role == "dissenter" else None
            answered = answer is not None or dissent is not None
            self.add(
                ReviewAsk,
                team_id=team,
                review_id=review,
                user_id=user,
                role=role,
                concern="",
                channel_id=None,
                message_ts=None,
                outcome=answer,
                what_happened="",
                evidence="",
                learned="",
                dissent_answer=dissent,
                answered_at=min(due + timedelta(days=rng.uniform(0, 6)), self.now)
                if answered
                else None,
            )

    def estimate_round(self, number: int, channel: str, revealed: datetime) -> None:
        rng = self.rng
        p50 = rng.choice((2.0, 3.0, 5.0, 8.0, 13.0))
        actual_at = revealed + timedelta(days=rng.uniform(3, 40))
        has_actual = rng.random() < 0.5 and actual_at < self.now
        self.add(
            EstimateRound,
            team_id=TEAM,
            number=number,
            topic=f"Round {number}",
            unit="days",
            phase="design",
            facilitator_id=self.who(),
            channel_id=channel,
            channel_private=channel in self.private,
            thread_ts=None,
            message_ts="1.1",
            post_error=None,
            state="revealed",
            deadline_at=None,
            decision_id=None,
            previous_round_id=None,
            result=json.dumps({"p50": p50, "p90": p50 * 1.6, "likely": p50, "mean": p50 * 1.1}),
            revealed_at=revealed,
            revealed_by=None,
            closed_note="",
            actual=p50 * rng.uniform(0.7, 2.0) if has_actual else None,
            actual_by=None,
            actual_at=actual_at if has_actual else None,
            created_at=revealed - timedelta(days=2),
            updated_at=revealed,
        )

    def parking_item(self, number: int, channel: str, created: datetime) -> None:
        rng = self.rng
        state = rng.choices(
            ("parked", "accepted", "deferred", "declined", "done", "withdrawn"),
            weights=(50, 15, 10, 10, 10, 5),
        )[0]
        scored = rng.random() < 0.6
        reach, impact, effort = float(rng.randint(10, 5000)), rng.choice((3.0, 1.0, 0.5)), 2.0
        decided_at = min(created + timedelta(days=rng.uniform(0.5, 10)), self.now)
        item = self.add(
            ParkingItem,
            team_id=TEAM,
            number=number,
            request=f"{rng.choice(REQUESTS)} (#{number})",
            requester_id=self.who(),
            why="",
            parked_by=self.who(),
            channel_id=channel,
            channel_private=channel in self.private,
            thread_ts=None,
            permalink=None,
            decision_id=None,
            round_id=None,
            reach=reach if scored else None,
            impact=impact if scored else None,
            confidence=80 if scored else None,
            effort=effort if scored else None,
            rice=round(reach * impact * 0.8 / effort, 2) if scored else None,
            moscow=None,
            state=state,
            timeline_days=float(rng.randint(1, 5)) if state in ("accepted", "done") else None,
            deferred_until=(self.now + timedelta(days=rng.randint(-20, 30))).date()
            if state == "deferred"
            else None,
            decided_by=None,
            decided_at=decided_at if state != "parked" else None,
            reason="",
            created_at=created,
            updated_at=created,
        )
        kinds = ["parked"]
        if state in ("accepted", "done"):
            kinds.append("accepted")
        elif state == "deferred":
            kinds.append("deferred")
        elif state == "parked" and rng.random() < 0.1:
            kinds += ["deferred", "resurfaced"]
        for n, kind in enumerate(kinds):
            at = created if n == 0 else min(decided_at + timedelta(hours=n), self.now)
            self.add(
                ParkingEvent,
                team_id=TEAM,
                item_id=item,
                actor_id=None,
                kind=kind,
                detail="{}",
                created_at=at,
            )


def seed(
    db: Database, *, decisions: int, items: int, rounds: int, channels: int, now: datetime
) -> tuple[float, str, str]:
    """Seconds taken, a channel with about 5 decisions this week, the one with 500."""
    t0 = time.perf_counter()
    s = Seeder(db, now=now, channels=channels)
    rng = s.rng

    def this_week() -> datetime:
        return now - timedelta(seconds=rng.uniform(3600, 7 * 86400))

    # this week's decisions: a handful per channel, more in a few, 500 more in the last
    placed = [(this_week(), c) for c in s.channels for _ in range(rng.randint(0, 6))]
    placed += [
        (this_week(), c) for c in s.channels[-1 - HOT_CHANNELS : -1] for _ in range(HOT_EXTRA)
    ]
    hottest = s.channels[-1]
    placed += [(this_week(), hottest) for _ in range(HOTTEST_EXTRA)]
    placed = placed[:decisions]
    while len(placed) < decisions:  # the rest over two years before this week
        placed.append(
            (now - timedelta(days=7) - timedelta(days=rng.uniform(0, 730)), rng.choice(s.channels))
        )
    placed.sort()
    ids = [s.decision(TEAM, n, c, at) for n, (at, c) in enumerate(placed, start=1)]
    for n in range(1, decisions // 20 + 1):  # a second workspace no digest may show
        s.decision(OTHER_TEAM, n, rng.choice(s.channels), now - timedelta(days=rng.uniform(0, 30)))
    # 1% superseded, by a decision soon after (linked once both rows exist)
    pairs = [
        (ids[k], ids[k + rng.randint(1, 200)])
        for k in rng.sample(range(len(ids) // 2), len(ids) // 100)
    ]
    for n in range(1, rounds + 1):
        s.estimate_round(n, rng.choice(s.channels), now - timedelta(days=rng.uniform(0, 365)))
    for n in range(1, items + 1):
        s.parking_item(n, rng.choice(s.channels), now - timedelta(days=rng.uniform(0, 180)))
    s.flush()
    table = Decision.__table__  # type: ignore[attr-defined]
    with db.engine.begin() as conn:
        for old_id, new_id in dict(pairs).items():
            conn.execute(
                table.update()
                .where(table.c.id == old_id)
                .values(status="superseded", superseded_by_id=new_id)
            )
            conn.execute(table.update().where(table.c.id == new_id).values(supersedes_id=old_id))
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    with db.read() as session:
        counts = dict(
            session.execute(
                select(Decision.channel_id, func.count())
                .where(Decision.team_id == TEAM, Decision.created_at >= now - timedelta(days=7))
                .group_by(Decision.channel_id)
            ).all()
        )
    few = min(s.channels[:-1], key=lambda c: abs(counts.get(c, 0) - 5))
    return time.perf_counter() - t0, few, hottest


# -- measuring -------------------------------------------------------------------------------


def build(db: Database, channel: str | None, start: datetime, end: datetime) -> Any:
    """A channel's digest (None: the workspace's), as its work item builds it."""
    with db.read() as session:
        data = gather(
            session,
            coverage=Coverage(TEAM, channel),
            start=start,
            end=end,
            sections=SECTIONS,
            today=end.date(),
        )
    return data, digest_blocks(
        data,
        title="Weekly digest",
        coverage_label=channel_link(channel) if channel else "every public channel",
        window_label="last week",
        late=False,
        configured_by="U00001",
        quiet_line=True,
    )


def statements(db: Database, channel: str, start: datetime, end: datetime) -> tuple[int, int]:
    """(statements sent, decisions in the digest) for one channel's digest."""
    with statements_sent(db.engine, is_select) as seen:
        data, _ = build(db, channel, start, end)
    assert isinstance(data, DigestData) and data.decisions is not None
    return len(seen), data.decisions.recorded.total


def measure(
    db: Database, channels: list[str], start: datetime, end: datetime
) -> tuple[dict[str, list[float]], float, int]:
    """Per-row timings (ms), the seconds all digests took, and how many were quiet."""
    one = text("SELECT 1")
    plain = (
        select(Decision)
        .where(
            Decision.team_id == TEAM,
            Decision.channel_id == bindparam("c"),
            Decision.created_at >= start,
            Decision.created_at < end,
        )
        .order_by(Decision.number.desc())
    )

    def floor_select_1(channel: str) -> None:
        with db.read() as session:
            for _ in range(STATEMENTS):
                session.execute(one).all()

    def floor_query(channel: str) -> None:
        with db.read() as session:
            session.execute(plain, {"c": channel}).all()

    def only_gather(channel: str) -> None:
        with db.read() as session:
            gather(
                session,
                coverage=Coverage(TEAM, channel),
                start=start,
                end=end,
                sections=SECTIONS,
                today=end.date(),
            )

    quiet = 0

    def digest(channel: str) -> None:
        nonlocal quiet
        if build(db, channel, start, end)[1] is None:
            quiet += 1

    runs: dict[str, Callable[[str], None]] = {
        "floor select 1": floor_select_1,
        "floor one query": floor_query,
        "gather": only_gather,
        "digest": digest,
    }
    for run in runs.values():  # warm-up: pool, caches, compiled statements
        for c in channels[:10]:
            run(c)
    quiet = 0
    rows: dict[str, list[float]] = {label: [] for label in runs}
    for c in channels:  # interleaved, so load changes hit every row alike
        for label, run in runs.items():
            t0 = time.perf_counter()
            run(c)
            rows[label].append((time.perf_counter() - t0) * 1000)
    return rows, sum(rows["digest"]) / 1000, quiet


def run_store(db: Database, args: argparse.Namespace) -> None:
    load = os.getloadavg()[0]
    now = datetime.now(UTC).replace(microsecond=0)
    db.migrate()
    seconds, few, hottest = seed(
        db,
        decisions=args.decisions,
        items=args.items,
        rounds=args.rounds,
        channels=args.channels,
        now=now,
    )
    if args.drop_index:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_decisions_team_channel_created")
    start, end = now - timedelta(days=7), now
    channels = [f"C{n:05d}" for n in range(args.channels)]
    rows, total, quiet = measure(db, channels, start, end)
    workspace = []
    for _ in range(3):
        t0 = time.perf_counter()
        build(db, None, start, end)
        workspace.append((time.perf_counter() - t0) * 1000)
    (few_sent, few_n), (many_sent, many_n) = (
        statements(db, few, start, end),
        statements(db, hottest, start, end),
    )
    print(
        f"digest: {db.dialect}, {args.decisions:,} decisions, {args.items:,} parking items, "
        f"{args.rounds:,} rounds in {TEAM} across {args.channels} channels (seeded in "
        f"{seconds:.1f} s); {os.cpu_count()} cores, load {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(
        "index on decisions (team_id, channel_id, created_at): "
        + ("dropped (--drop-index)" if args.drop_index else "present (migration 0010)")
    )
    print(f"{'row':16} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'total s':>8}")
    for label, times in rows.items():
        print(
            f"{label:16} {len(times):5d} {percentile(times, 50):8.2f} "
            f"{percentile(times, 95):8.2f} {max(times):8.2f} {sum(times) / 1000:8.2f}"
        )
    print(f"quiet weeks (no message): {quiet} of {len(channels)}")
    print(
        "workspace digest (every public channel, one per workspace): "
        + ", ".join(f"{t:.1f}" for t in workspace)
        + " ms"
    )
    print(
        f"statements per digest: {few_sent} with {few_n} decisions ({few}), {many_sent} with "
        f"{many_n} decisions ({hottest}); expected {STATEMENTS}: "
        f"{'equal' if few_sent == many_sent == STATEMENTS else 'DIFFERENT'}"
    )
    p95 = percentile(rows["digest"], 95)
    for verdict, label in (
        (p95 < BUILD_TARGET_MS, f"per-channel digest p95 < {BUILD_TARGET_MS:.0f} ms: {p95:.2f}"),
        (
            total < TOTAL_TARGET_S,
            f"all {len(channels)} digests < {TOTAL_TARGET_S:.0f} s: {total:.2f}",
        ),
    ):
        print(f"{'PASS' if verdict else 'MISS'} {label}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=5_000, help="parking-lot items")
    parser.add_argument("--rounds", type=int, default=2_000, help="estimate rounds")
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--postgres", metavar="URL", help="also run on this Postgres server")
    parser.add_argument("--quick", "--smoke", action="store_true", help="a tiny run (CI)")
    parser.add_argument(
        "--drop-index",
        action="store_true",
        help="drop the index on decisions (team_id, channel_id, created_at) first",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.decisions, args.items, args.rounds, args.channels = 2_000, 500, 200, 50
    with tempfile.TemporaryDirectory() as tmp:
        for url in (None, args.postgres) if args.postgres else (None,):
            with _bench_database(url, tmp) as db:
                run_store(db, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
