"""The parking lot at size (issue 9, "Speed"): `/parkinglot list by rice` over 50,000 items in
one workspace, and the scope-creep watch's cost per message event. One thread, in-process,
no HTTP, no Slack.

    python -m benchmarks.parking_lot                  # SQLite: 50,000 + 3,000 items
    python -m benchmarks.parking_lot --smoke          # CI size: 2,000 + 200 items, few runs
    python -m benchmarks.parking_lot --database-url postgresql+psycopg://...

Seeding: bulk Core inserts into ``parking_items`` (not ``create_item`` one by one): 50,000
items in workspace T1 and 3,000 in T2, interleaved in time (so isolation is real), 200
channels of which 30% private, 500 people, ~60% scored (RICE = reach x impact x confidence /
effort), the rest unscored, states mixed (about half parked). With ``--database-url`` the
store is seeded only if T1 has no items yet. Postgres is ANALYZEd after the load (autovacuum
would do it); SQLite is not (the app never runs ANALYZE there).

Rows (p50/p95/max ms, nearest rank):

- ``list floor``: the same SELECT ... ORDER BY rice DESC NULLS LAST ... LIMIT 25 our code
  sends (captured from it), run as raw SQL on the driver's cursor: no SQLAlchemy, no ORM.
- ``list query``: ``storage.parking.list_items`` in ``db.read()``, nothing else.
- ``list answer``: what the person waits for, as ``_answer`` in bot/features/parking/listeners.py:
  ``list_items`` plus ``build_list_blocks`` in ``db.read()``. Viewers are members asking from
  a channel (public and private ones in turn), so the visibility clause is exercised.
- ``regex floor``: ``looks_like_scope_addition`` alone on a matching message.
- ``noop handler``: a do-nothing function with ``handle_message``'s signature.
- ``unwatched miss`` / ``unwatched hit``: ``handle_message`` in a channel that is not watched
  with text that does not / does read like a scope addition (the hit pays the DB read).
- ``watched new``: a matching message in a watched channel from a new person each time: the
  event mark, the hourly offer slot and the outbox row, committed (the full write path).
- ``watched again``: the same, from one person who was already offered (rate-limited).
- ``watched floor``: the SQL ``watched new`` sends (captured from it), replayed on the driver's
  cursor with a new person each time: what the database alone costs for that path.

The plan of the list query (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) is printed with whether it
reads ix_parking_items_team_state and whether it sorts every candidate row.

Targets (issue 9): list answer p95 < 50 ms; the watch < 2 ms per event on channels that are not
watched, < 5 ms on watched ones. Printed as PASS/MISS, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.ack_latency.report import percentile
from bot.features.parking.listeners import handle_message
from bot.features.parking.scope_watch import looks_like_scope_addition
from bot.features.parking.views import build_list_blocks
from storage import parking as repo
from storage import parking_watch
from storage.db import Database, statements_sent
from storage.models import ParkingItem, ParkingState
from storage.visibility import Viewer

TEAM, OTHER_TEAM = "T1", "T2"
LIST_TARGET_MS, UNWATCHED_TARGET_MS, WATCHED_TARGET_MS = 50.0, 2.0, 5.0
N_CHANNELS, N_USERS, PRIVATE_SHARE, WATCHED_CHANNELS = 200, 500, 0.3, 20
STATES = (
    (ParkingState.PARKED, 50),
    (ParkingState.ACCEPTED, 15),
    (ParkingState.DEFERRED, 10),
    (ParkingState.DECLINED, 10),
    (ParkingState.DONE, 10),
    (ParkingState.WITHDRAWN, 5),
)
REQUESTS = (
    "Can we also export the report as CSV?",
    "While we're at it, add SSO for the admin console",
    "One more thing: dark mode for the dashboard",
    "Quick addition: a webhook when an invoice is paid",
    "Could you just add a filter by region to the list?",
    "Support for multiple currencies in checkout",
)
MATCHING = "Looks good. Can we also add a CSV export to the weekly report while you are in there?"
PLAIN = "Deployed the fix to staging, the weekly report renders again. Will check prod at 3."


@functools.cache
def channels() -> tuple[list[str], set[str]]:
    names = [f"C{n:05d}" for n in range(N_CHANNELS)]
    rng = random.Random(7)
    return names, set(rng.sample(names, int(N_CHANNELS * PRIVATE_SHARE)))


@functools.cache
def users() -> list[str]:
    return [f"U{n:05d}" for n in range(N_USERS)]


def _row(rng: random.Random, team: str, number: int, created: datetime) -> dict[str, Any]:
    names, private = channels()
    channel = rng.choice(names)
    state = rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES], k=1)[0]
    scores = repo.Scores()
    if rng.random() < 0.6:
        scores = repo.Scores(
            reach=float(rng.randint(10, 5000)),
            impact=rng.choice((3.0, 2.0, 1.0, 0.5, 0.25)),
            confidence=rng.choice((100, 80, 50)),
            effort=rng.choice((0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0)),
            moscow=rng.choice(("must", "should", "could", "wont", None)),
        )
    decided = state not in (ParkingState.PARKED, ParkingState.DEFERRED)
    people = users()
    return {
        "team_id": team,
        "number": number,
        "request": f"{rng.choice(REQUESTS)} (#{number})",
        "requester_id": rng.choice(people),
        "why": "Asked for in the planning thread." if rng.random() < 0.5 else "",
        "parked_by": rng.choice(people),
        "channel_id": channel,
        "channel_private": channel in private,
        "thread_ts": f"{int(created.timestamp())}.{number % 1_000_000:06d}",
        "permalink": None,
        "decision_id": None,
        "round_id": None,
        "reach": scores.reach,
        "impact": scores.impact,
        "confidence": scores.confidence,
        "effort": scores.effort,
        "rice": scores.rice,
        "moscow": scores.moscow,
        "state": str(state),
        "timeline_days": 5.0 if state == ParkingState.ACCEPTED else None,
        "deferred_until": (created + timedelta(days=90)).date()
        if state == ParkingState.DEFERRED
        else None,
        "decided_by": rng.choice(people) if decided else None,
        "decided_at": created + timedelta(days=3) if decided else None,
        "reason": "Out of scope this quarter." if state == ParkingState.DECLINED else "",
        "created_at": created,
        "updated_at": created,
    }


def seed(db: Database, items: int, other_items: int, *, chunk: int = 5_000) -> float:
    """Insert both workspaces' items, interleaved in time; seconds taken."""
    t0 = time.perf_counter()
    rng = random.Random(1)
    now = datetime.now(UTC)
    span = timedelta(days=2 * 365).total_seconds()
    # every item's (time, team); numbers count up per team in time order
    stamps = sorted(
        [(rng.uniform(0, span), TEAM) for _ in range(items)]
        + [(rng.uniform(0, span), OTHER_TEAM) for _ in range(other_items)]
    )
    numbers = {TEAM: 0, OTHER_TEAM: 0}
    table = ParkingItem.__table__  # type: ignore[attr-defined]
    for lo in range(0, len(stamps), chunk):
        rows = []
        for offset, team in stamps[lo : lo + chunk]:
            numbers[team] += 1
            created = now - timedelta(seconds=span - offset + 3600)
            rows.append(_row(rng, team, numbers[team], created))
        with db.engine.begin() as conn:
            conn.execute(table.insert(), rows)
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE parking_items"
            )
    return time.perf_counter() - t0


def _once(run: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    run(n)
    return (time.perf_counter() - start) * 1000


def viewers() -> list[Viewer]:
    """Members asking from a channel: public and private channels in turn."""
    names, private = channels()
    people = users()
    rng = random.Random(5)
    picked = rng.sample(sorted(private), 5) + rng.sample(sorted(set(names) - private), 5)
    return [Viewer(user_id=rng.choice(people), channel_id=c) for c in picked]


def capture_list_sql(db: Database, viewer: Viewer) -> tuple[str, Any]:
    """The SQL (and parameters) ``list_items`` sends for ``viewer``, as the driver sees it."""
    with (
        statements_sent(db.engine, lambda sql: "FROM parking_items" in sql) as seen,
        db.read() as session,
    ):
        repo.list_items(
            session, team_id=TEAM, viewer=viewer, state=ParkingState.PARKED, sort="rice"
        )
    return seen[-1]


def explain(db: Database, statement: str, parameters: Any) -> list[str]:
    prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN (ANALYZE, COSTS OFF) "
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(prefix + statement, parameters)
        rows = cur.fetchall()
        raw.rollback()
    finally:
        raw.close()
    if db.dialect == "sqlite":
        return [str(r[-1]) for r in rows]
    return [str(r[0]) for r in rows]


def plan_verdict(dialect: str, plan: list[str]) -> tuple[bool, bool]:
    """(reads the list index, sorts every candidate row rather than the index order)."""
    joined = "\n".join(plan)
    uses_index = "ix_parking_items_team_state" in joined or "ix_parking_items_list" in joined
    if dialect == "sqlite":
        full_sort = "TEMP B-TREE FOR ORDER BY" in joined
    else:
        full_sort = "top-N heapsort" in joined or "external merge" in joined
    return uses_index, full_sort


def measure_list(
    db: Database, queries: int
) -> tuple[dict[str, list[float]], list[str], int, int, int]:
    """Rows, the plan, items listed (in total), items of the other workspace listed, and
    candidate rows (T1 parked) the query chooses from."""
    people = viewers()
    statement, params_first = capture_list_sql(db, people[0])
    captured = [capture_list_sql(db, v) for v in people]
    plan = explain(db, statement, params_first)

    raw = db.engine.raw_connection()
    try:

        def floor(n: int) -> None:
            sql, params = captured[n % len(captured)]
            cur = raw.cursor()
            cur.execute(sql, params)
            cur.fetchall()
            cur.close()
            raw.rollback()

        def query(n: int) -> None:
            with db.read() as session:
                repo.list_items(
                    session,
                    team_id=TEAM,
                    viewer=people[n % len(people)],
                    state=ParkingState.PARKED,
                    sort="rice",
                )

        listed = foreign = 0

        def answer(n: int) -> None:
            nonlocal listed, foreign
            with db.read() as session:
                items = repo.list_items(
                    session,
                    team_id=TEAM,
                    viewer=people[n % len(people)],
                    state=ParkingState.PARKED,
                    sort="rice",
                )
            build_list_blocks(items, state=ParkingState.PARKED, sort="rice", now=datetime.now(UTC))
            listed += len(items)
            foreign += sum(1 for i in items if i.team_id != TEAM)

        for run in (floor, query, answer):  # warm-up: pools, caches, compiled statements
            for n in range(min(len(people), queries)):
                run(n)
        listed = foreign = 0
        rows = {"list floor": [], "list query": [], "list answer": []}
        for n in range(queries):  # interleaved, so load changes hit every row alike
            for label, run in (
                ("list floor", floor),
                ("list query", query),
                ("list answer", answer),
            ):
                rows[label].append(_once(run, n))
    finally:
        raw.close()
    with db.read() as session:
        candidates = int(
            session.execute(
                select(func.count())
                .select_from(ParkingItem)
                .where(ParkingItem.team_id == TEAM, ParkingItem.state == ParkingState.PARKED)
            ).scalar_one()
        )
    return rows, plan, listed, foreign, candidates


def replay_floor(
    db: Database, channel: str, run_id: str
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """The watched path's SQL as the driver saw it for one new person (captured from
    ``handle_message``), replayed on the raw connection with a new person, event and message
    each time: the read, then one write transaction, no SQLAlchemy, no ORM."""
    user, event_id, ts = f"Ufl{run_id}x", f"Efl{run_id}x", "1700000000.999999"
    body = {"type": "message", "user": user, "channel": channel, "channel_type": "channel"}
    with statements_sent(db.engine, lambda sql: not sql.startswith("BEGIN")) as seen:
        handle_message({**body, "text": MATCHING, "ts": ts}, db, TEAM, event_id)
    read, writes = seen[0], seen[1:]
    sqlite = db.dialect == "sqlite"

    def swap(parameters: Any, n: int) -> Any:
        def one(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            for old in (user, event_id, ts):
                value = value.replace(old, f"{old}{n}")
            return value

        if isinstance(parameters, dict):
            return {k: one(v) for k, v in parameters.items()}
        return tuple(one(v) for v in parameters)

    raw = db.engine.raw_connection()

    def floor(n: int) -> None:
        cur = raw.cursor()
        if sqlite:
            cur.execute("BEGIN")
        cur.execute(*read)
        cur.fetchall()
        raw.rollback()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        for statement, parameters in writes:
            cur.execute(statement, swap(parameters, n))
            if cur.description:
                cur.fetchall()
        raw.commit()
        cur.close()

    return floor, raw.close


def measure_watch(db: Database, events: int) -> tuple[dict[str, list[float]], int, int]:
    """Rows, and the offers ``watched new`` and ``watched floor`` took (one per event each)."""
    names, _private = channels()
    watched_channels = names[:WATCHED_CHANNELS]
    unwatched_channels = names[WATCHED_CHANNELS:]
    run_id = uuid.uuid4().hex[:8]  # a reused --database-url still sees new people and events
    with db.session() as session:
        for c in watched_channels:
            parking_watch.set_watch(session, team_id=TEAM, channel_id=c, on=True, actor_id="U00000")
    serial = iter(range(10**9))

    def message(channel: str, user: str, body: str) -> dict[str, Any]:
        n = next(serial)
        return {
            "type": "message",
            "user": user,
            "channel": channel,
            "channel_type": "channel",
            "text": body,
            "ts": f"{1_800_000_000 + n}.{n % 1_000_000:06d}",
        }

    def noop(event: dict[str, Any], db: Database, team: str, event_id: str) -> None:
        return None

    def deliver(handler: Callable[..., None], channel: str, user: str, body: str) -> None:
        n = next(serial)
        handler(message(channel, user, body), db, TEAM, f"Ev{run_id}{n:09d}")

    repeat_user = f"Urep{run_id}"
    write_floor, close_floor = replay_floor(db, watched_channels[-1], run_id)
    deliver(handle_message, watched_channels[0], repeat_user, MATCHING)  # takes their slot
    runs: dict[str, Callable[[int], object]] = {
        "regex floor": lambda n: looks_like_scope_addition(MATCHING),
        "noop handler": lambda n: deliver(noop, unwatched_channels[n % 180], "U00001", MATCHING),
        "unwatched miss": lambda n: deliver(
            handle_message, unwatched_channels[n % 180], f"U{n % N_USERS:05d}", PLAIN
        ),
        "unwatched hit": lambda n: deliver(
            handle_message, unwatched_channels[n % 180], f"U{n % N_USERS:05d}", MATCHING
        ),
        "watched floor": write_floor,
        "watched new": lambda n: deliver(
            handle_message, watched_channels[n % WATCHED_CHANNELS], f"Unew{run_id}{n}", MATCHING
        ),
        "watched again": lambda n: deliver(
            handle_message, watched_channels[n % WATCHED_CHANNELS], repeat_user, MATCHING
        ),
    }
    for label, run in runs.items():  # warm-up (the warm-up's new people are not counted)
        if label != "watched new":
            for n in range(min(20, events)):
                run(n)
    rows: dict[str, list[float]] = {label: [] for label in runs}
    try:
        for n in range(events):
            for label, run in runs.items():
                rows[label].append(_once(run, n))
    finally:
        close_floor()
    with db.read() as session:
        offers = int(
            session.execute(
                text(
                    "SELECT count(*) FROM watch_offers WHERE team_id = :t AND user_id LIKE :u"
                ).bindparams(t=TEAM, u=f"Unew{run_id}%")
            ).scalar_one()
        )
        floor_offers = int(
            session.execute(
                text(
                    "SELECT count(*) FROM watch_offers WHERE team_id = :t AND user_id LIKE :u"
                ).bindparams(t=TEAM, u=f"Ufl{run_id}x_%")
            ).scalar_one()
        )
    return rows, offers, floor_offers


def _print_rows(rows: dict[str, list[float]], digits: int) -> None:
    width = 8
    for label, times in rows.items():
        p50, p95 = percentile(times, 50), percentile(times, 95)
        print(
            f"{label:15} {len(times):5d} {p50:{width}.{digits}f} {p95:{width}.{digits}f} "
            f"{max(times):{width}.{digits}f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000, help="items in the workspace")
    parser.add_argument("--other-items", type=int, default=3_000, help="in a second workspace")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--events", type=int, default=1_000, help="message events per row")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--smoke", action="store_true", help="2,000 + 200 items, 10 runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.items, args.other_items, args.queries, args.events = 2_000, 200, 10, 10
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database_url or f"sqlite:///{Path(tmp) / 'parking.db'}")
        try:
            db.migrate()
            with db.read() as session:
                existing = repo.count_items(session, team_id=TEAM)
            if existing:
                seeded = f"{existing:,} items already there: not seeded"
            else:
                seeded = f"seeded in {seed(db, args.items, args.other_items):.1f} s"
            with db.read() as session:
                mine = repo.count_items(session, team_id=TEAM)
                theirs = repo.count_items(session, team_id=OTHER_TEAM)
            list_rows, plan, listed, foreign, candidates = measure_list(db, args.queries)
            watch_rows, offers, floor_offers = measure_watch(db, args.events)
        finally:
            db.dispose()
    print(
        f"parking lot: {db.dialect}, {mine:,} items in {TEAM} ({candidates:,} parked) + "
        f"{theirs:,} in {OTHER_TEAM} ({seeded}); {os.cpu_count()} cores, load "
        f"{load_start:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"{'row':15} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    _print_rows(list_rows, 2)
    _print_rows(watch_rows, 3)
    print(
        f"listed {listed} items in {args.queries} answers; from the other workspace: {foreign}; "
        f"offers taken by 'watched new': {offers}/{args.events}, by 'watched floor': "
        f"{floor_offers}/{args.events}"
    )
    uses_index, full_sort = plan_verdict(db.dialect, plan)
    print("list query plan:")
    for line in plan:
        print(f"  {line}")
    print(
        f"list query reads the index: {'yes' if uses_index else 'NO'}; sorts every parked "
        f"candidate instead of reading the index in order: {'YES' if full_sort else 'no'}"
    )
    answer_p95 = percentile(list_rows["list answer"], 95)
    unwatched_p95 = max(
        percentile(watch_rows["unwatched miss"], 95), percentile(watch_rows["unwatched hit"], 95)
    )
    watched_p95 = max(
        percentile(watch_rows["watched new"], 95), percentile(watch_rows["watched again"], 95)
    )
    for label, p95, target in (
        ("list answer p95", answer_p95, LIST_TARGET_MS),
        ("unwatched channel p95", unwatched_p95, UNWATCHED_TARGET_MS),
        ("watched channel p95", watched_p95, WATCHED_TARGET_MS),
    ):
        verdict = "PASS" if p95 < target else "MISS"
        print(f"{verdict} {label} < {target:.0f} ms: {p95:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
