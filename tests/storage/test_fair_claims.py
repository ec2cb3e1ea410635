"""Claims are fair to every workspace (issue 23): one workspace's backlog never holds up
another's work. A claim takes every workspace's oldest due row, then every second, ...; on
SQLite and on a real Postgres server."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from storage import due_work
from storage.db import Database
from storage.models import DueWork, WorkState

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def seed(db: Database, team: str, count: int, *, oldest: datetime, prefix: str) -> None:
    """``count`` due rows of ``team``, a second apart from ``oldest``: key ``{prefix}{i}``."""
    with db.session() as s:
        for i in range(count):
            due_work.schedule(
                s,
                team_id=team,
                kind="test.kind",
                subject_id=i,
                key=f"{prefix}{i}",
                due_at=oldest + timedelta(seconds=i),
            )


def claim(db: Database, *, limit: int, owner: str = "A", now: datetime = NOW) -> list[DueWork]:
    with db.session() as s:
        return due_work.claim(s, now=now, owner=owner, limit=limit, lease=LEASE, clock=now)


def states(db: Database) -> dict[str, DueWork]:
    with db.read() as s:
        return {r.key: r for r in s.exec(select(DueWork)).all()}


def test_a_backlog_does_not_hold_up_another_workspaces_rows(db: Database) -> None:
    seed(db, "TA", 500, oldest=NOW - timedelta(hours=2), prefix="a")
    seed(db, "TB", 3, oldest=NOW - timedelta(minutes=1), prefix="b")
    got = claim(db, limit=8)
    # B's three rows, though A's are older, and A's five oldest; each workspace's in due order.
    assert sorted(r.key for r in got if r.team_id == "TB") == ["b0", "b1", "b2"]
    assert [r.key for r in got if r.team_id == "TA"] == ["a0", "a1", "a2", "a3", "a4"]
    assert [r.key for r in got if r.team_id == "TB"] == ["b0", "b1", "b2"]
    # In the claim's turn order: both workspaces' first rows, then both second rows, ...
    assert [r.key for r in got] == ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "a4"]
    stored = states(db)
    claimed = {k for k, r in stored.items() if r.state == WorkState.CLAIMED}
    assert claimed == {r.key for r in got}
    assert all(stored[k].lease_owner == "A" for k in claimed)
    # The rest of the backlog follows in due order.
    assert [r.key for r in claim(db, limit=4, owner="B")] == ["a5", "a6", "a7", "a8"]


def test_rounds_go_across_every_workspace_with_due_rows(db: Database) -> None:
    seed(db, "TA", 6, oldest=NOW - timedelta(hours=3), prefix="a")
    seed(db, "TB", 2, oldest=NOW - timedelta(hours=2), prefix="b")
    seed(db, "TC", 1, oldest=NOW - timedelta(hours=1), prefix="c")
    seed(db, "TD", 2, oldest=NOW + timedelta(hours=1), prefix="d")  # not due yet
    got = claim(db, limit=5)
    assert [r.key for r in got] == ["a0", "b0", "c0", "a1", "b1"]
    assert [r.key for r in claim(db, limit=10)] == ["a2", "a3", "a4", "a5"]
    assert claim(db, limit=10) == []
    assert {k for k, r in states(db).items() if r.state == WorkState.PENDING} == {"d0", "d1"}


def test_paused_rows_are_never_claimed_and_expired_leases_are(db: Database) -> None:
    seed(db, "TA", 3, oldest=NOW - timedelta(hours=1), prefix="a")
    seed(db, "TB", 3, oldest=NOW - timedelta(hours=1), prefix="b")
    with db.session() as s:  # TB uninstalled: its work waits for a reinstall
        s.exec(update(DueWork).where(col(DueWork.team_id) == "TB").values(state=WorkState.PAUSED))
    first = claim(db, limit=1, owner="dead")
    assert [r.key for r in first] == ["a0"]
    later = NOW + LEASE  # the owner died: its lease ran out
    got = claim(db, limit=10, owner="B", now=later)
    assert [r.key for r in got] == ["a0", "a1", "a2"]
    assert got[0].attempts == 2 and got[0].lease_owner == "B"
    stored = states(db)
    assert {stored[f"b{i}"].state for i in range(3)} == {WorkState.PAUSED}
    assert all(stored[f"b{i}"].attempts == 0 for i in range(3))


def test_concurrent_fair_claims_take_each_row_exactly_once(db: Database) -> None:
    teams = {"TA": 300, "TB": 40, "TC": 5, "TD": 1}
    for team, count in teams.items():
        seed(db, team, count, oldest=NOW - timedelta(hours=1), prefix=f"{team}-")
    total, workers = sum(teams.values()), 4
    barrier = threading.Barrier(workers)
    taken: dict[str, list[int]] = {f"w{n}": [] for n in range(workers)}
    errors: list[BaseException] = []

    def sweep(owner: str) -> None:
        try:
            barrier.wait(timeout=10)
            while True:
                with db.session() as s:
                    got = due_work.claim(s, now=NOW, owner=owner, limit=7, lease=LEASE)
                if not got:
                    return
                taken[owner].extend(r.id for r in got)  # type: ignore[misc]
                with db.session() as s:
                    for r in got:
                        assert due_work.complete(s, item=r, owner=owner)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(o,)) for o in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    all_ids = [i for ids in taken.values() for i in ids]
    assert [i for i, n in Counter(all_ids).items() if n > 1] == []
    stored = states(db)
    assert len(all_ids) == total == len(stored)
    assert {r.id for r in stored.values()} == set(all_ids)
    assert all(r.state == WorkState.DONE and r.attempts == 1 for r in stored.values())
