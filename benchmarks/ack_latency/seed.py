"""Seeding: N decisions of one workspace with their people, stances and history, in bulk."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.ack_latency.config import TEAM
from benchmarks.ack_latency.vocabulary import (
    CONSEQUENCES,
    CONTEXT,
    DECISION,
    OPTIONS,
    TAGS,
    TITLES,
    _text,
)


@dataclass
class Population:
    """What the request generators pick from: people, channels, decisions open for stances."""

    users: list[str]
    channels: list[str]
    public_channels: list[str]
    open_decisions: list[tuple[int, str, str]]  # (number, channel_id, message_ts)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per seeding phase


def _population(n_users: int = 500, n_channels: int = 100) -> tuple[list[str], list[str], set[str]]:
    users = [f"U{i:05d}" for i in range(1, n_users + 1)]
    channels = [f"C{i:05d}" for i in range(1, n_channels + 1)]
    private = set(channels[: n_channels * 15 // 100])
    return users, channels, private


STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
STATUS_WEIGHTS = (30, 50, 8, 7, 5)
STANCE_KINDS = ("agree", "disagree_and_commit", "block")
STANCE_WEIGHTS = (70, 20, 10)


def seed_decisions(db: Any, n: int, *, seed: int = 1, chunk: int = 20_000) -> Population:
    """Insert ``n`` decisions of one workspace (the worst case for per-team queries) with their
    people, stances and history, in ``ceil(n / chunk)`` transactions of multi-row inserts."""
    from sqlalchemy import text

    from storage.models import Counter, Decision, DecisionEvent, DecisionMember, Stance

    rng = random.Random(seed)
    users, channels, private = _population()
    now = datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
    span = (now - start).total_seconds() - 86_400
    open_decisions: list[tuple[int, str, str]] = []
    t_dec, t_mem, t_st, t_ev = (
        Decision.__table__,  # type: ignore[attr-defined]
        DecisionMember.__table__,  # type: ignore[attr-defined]
        Stance.__table__,  # type: ignore[attr-defined]
        DecisionEvent.__table__,  # type: ignore[attr-defined]
    )
    gin_indexes: list[tuple[str, str]] = []
    if db.dialect == "postgresql":
        # Bulk-load idiom: build the full-text GIN index once after loading instead of
        # maintaining it row by row; it is recreated from its own definition, unchanged.
        with db.engine.begin() as conn:
            gin_indexes = [
                (r[0], r[1])
                for r in conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                        "current_schema() AND tablename = 'decisions' AND indexdef ILIKE "
                        "'%USING gin%'"
                    )
                )
            ]
            for name, _ in gin_indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
    timings = dict.fromkeys(("generate", "insert", "index", "analyze"), 0.0)
    for lo in range(0, n, chunk):
        t_gen = time.perf_counter()
        decisions: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        stances: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for number in range(lo + 1, min(n, lo + chunk) + 1):
            created = start + timedelta(seconds=span * number / n)
            channel = rng.choice(channels)
            author = rng.choice(users)
            status = rng.choices(STATUSES, weights=STATUS_WEIGHTS, k=1)[0]
            message_ts = f"{int(created.timestamp())}.{number % 1_000_000:06d}"
            tags = rng.sample(TAGS, rng.randint(0, 3))
            decisions.append(
                {
                    "id": number,
                    "team_id": TEAM,
                    "enterprise_id": None,
                    "number": number,
                    "title": _text(rng, TITLES, 1, 1)[:200],
                    "context": _text(rng, CONTEXT, 1, 2),
                    "options": _text(rng, OPTIONS, 0, 1),
                    "decision": _text(rng, DECISION, 1, 2),
                    "consequences": _text(rng, CONSEQUENCES, 1, 1),
                    "success_criteria": "",
                    "status": status,
                    "tags": f" {' '.join(tags)} " if tags else "",
                    "review_date": (created + timedelta(days=30)).date(),
                    "channel_id": channel,
                    "channel_private": channel in private,
                    "message_ts": message_ts,
                    "post_error": None,
                    "author_id": author,
                    "source_permalink": None,
                    "supersedes_id": None,
                    "superseded_by_id": None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            events.append(
                {
                    "team_id": TEAM,
                    "decision_id": number,
                    "actor_id": author,
                    "kind": "created",
                    "detail": json.dumps({"status": status}),
                    "created_at": created,
                }
            )
            people = rng.sample(users, 5)
            roles = [("decider", people[0])]
            if rng.random() < 0.5:
                roles.append(("decider", people[1]))
            roles += [("consulted", u) for u in people[2 : 2 + rng.randint(0, 2)]]
            if rng.random() < 0.4:
                roles.append(("informed", people[4]))
            members += [
                {"team_id": TEAM, "decision_id": number, "user_id": u, "role": r} for r, u in roles
            ]
            if status in ("proposed", "accepted"):
                open_decisions.append((number, channel, message_ts))
                if rng.random() < 0.35:
                    for user in rng.sample(users, rng.randint(1, 4)):
                        kind = rng.choices(STANCE_KINDS, weights=STANCE_WEIGHTS, k=1)[0]
                        at = created + timedelta(hours=rng.randint(1, 72))
                        row = {
                            "team_id": TEAM,
                            "decision_id": number,
                            "user_id": user,
                            "kind": kind,
                            "concern": "",
                            "change_my_mind": "",
                            "committed": kind == "disagree_and_commit",
                            "reason": "",
                            "created_at": at,
                            "updated_at": at,
                        }
                        if kind == "disagree_and_commit":
                            row["concern"] = _text(rng, CONSEQUENCES, 1, 1)
                            row["change_my_mind"] = "Numbers from a load test."
                        elif kind == "block":
                            row["reason"] = _text(rng, CONTEXT, 1, 1)
                        stances.append(row)
                        events.append(
                            {
                                "team_id": TEAM,
                                "decision_id": number,
                                "actor_id": user,
                                "kind": "stance",
                                "detail": json.dumps({"previous": None, "kind": kind}),
                                "created_at": at,
                            }
                        )
        t_ins = time.perf_counter()
        timings["generate"] += t_ins - t_gen
        with db.engine.begin() as conn:
            if db.dialect == "postgresql":
                # The rows are consistent by construction: skip the per-row foreign-key
                # triggers while loading (superuser-only; the throwaway cluster's user is).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(t_dec.insert(), decisions)
            conn.execute(t_mem.insert(), members)
            if stances:
                conn.execute(t_st.insert(), stances)
            conn.execute(t_ev.insert(), events)
        timings["insert"] += time.perf_counter() - t_ins
    t_idx = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            Counter.__table__.insert(),  # type: ignore[attr-defined]
            [{"team_id": TEAM, "kind": "adr", "value": n}],
        )
        if db.dialect == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('decisions', 'id'), :n)"), {"n": n}
            )
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            for _, ddl in gin_indexes:
                conn.execute(text(ddl))
    t_an = time.perf_counter()
    timings["index"] = t_an - t_idx
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        raw = db.engine.raw_connection()  # autocommit (isolation_level None): no BEGIN
        try:
            raw.execute("ANALYZE")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    timings["analyze"] = time.perf_counter() - t_an
    public = [c for c in channels if c not in private]
    return Population(users, channels, public, open_decisions, timings)
