"""The due-work table (storage/due_work.py) on SQLite and on a real Postgres server: unique keys,
atomic claims with a lease, lease takeover, stale owners, retries with backoff, cancelling,
and concurrent sweepers that each take a row exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from storage import due_work
from storage.db import Database
from storage.models import DueWork, WorkState

NOW = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive (they are stored as UTC); Postgres aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def add(
    db: Database,
    key: str,
    due_at: datetime,
    *,
    team: str = "T1",
    kind: str = "test.kind",
    subject: int = 1,
    payload: dict | None = None,
) -> bool:
    with db.session() as s:
        return due_work.schedule(
            s, team_id=team, kind=kind, subject_id=subject, key=key, due_at=due_at, payload=payload
        )


def claim(
    db: Database,
    *,
    now: datetime = NOW,
    owner: str = "A",
    limit: int = 50,
    lease: timedelta = LEASE,
    clock: datetime | None = None,
) -> list[DueWork]:
    """Claim at ``now``; the database's clock (leases) is ``clock``, default ``now``."""
    with db.session() as s:
        return due_work.claim(s, now=now, owner=owner, limit=limit, lease=lease, clock=clock or now)


def rows(db: Database) -> dict[str, DueWork]:
    with db.read() as s:
        return {r.key: r for r in s.exec(select(DueWork).order_by(DueWork.id)).all()}


def test_scheduling_the_same_key_twice_makes_one_row(db):
    assert add(db, "review:1:open", NOW, payload={"a": 1}) is True
    assert add(db, "review:1:open", NOW + timedelta(days=3), payload={"a": 2}) is False
    [row] = rows(db).values()
    assert aware(row.due_at) == NOW  # the first one stands
    assert row.payload == '{"a": 1}'
    assert row.state == WorkState.PENDING and row.attempts == 0
    # The key is unique per workspace, not globally.
    assert add(db, "review:1:open", NOW, team="T2") is True
    with db.read() as s:
        assert sorted(r.team_id for r in s.exec(select(DueWork)).all()) == ["T1", "T2"]


def test_claim_takes_only_due_pending_rows_and_sets_the_lease(db):
    add(db, "done", NOW - timedelta(days=2), subject=6)
    [first] = claim(db, now=NOW - timedelta(days=1), owner="A")
    assert first.key == "done"
    with db.session() as s:
        assert due_work.complete(s, item=first, owner="A")
    add(db, "past", NOW - timedelta(hours=1))
    add(db, "exactly-now", NOW)
    add(db, "future", NOW + timedelta(seconds=1))
    add(db, "cancelled", NOW - timedelta(hours=1), subject=7)
    with db.session() as s:
        assert due_work.cancel(s, team_id="T1", kinds=("test.kind",), subject_ids=[7]) == 1
    got = claim(db, owner="sweeper-1")
    assert [r.key for r in got] == ["past", "exactly-now"]
    for r in got:
        assert r.state == WorkState.CLAIMED
        assert r.lease_owner == "sweeper-1"
        assert aware(r.lease_expires_at) == NOW + LEASE
        assert r.attempts == 1
    stored = rows(db)
    assert stored["future"].state == WorkState.PENDING and stored["future"].attempts == 0
    assert stored["future"].lease_owner is None
    assert stored["cancelled"].state == WorkState.CANCELLED and stored["cancelled"].attempts == 0
    assert stored["done"].state == WorkState.DONE and stored["done"].attempts == 1
    for key in ("past", "exactly-now"):
        assert stored[key].state == WorkState.CLAIMED
        assert stored[key].lease_owner == "sweeper-1"
        assert aware(stored[key].lease_expires_at) == NOW + LEASE


def test_claim_respects_the_limit_and_due_order(db):
    for i in range(5):
        add(db, f"k{i}", NOW - timedelta(minutes=i))  # k4 is the oldest
    first = claim(db, limit=2)
    assert [r.key for r in first] == ["k4", "k3"]
    second = claim(db, limit=2, owner="B")
    assert [r.key for r in second] == ["k2", "k1"]
    assert [r.key for r in claim(db, limit=2)] == ["k0"]
    assert claim(db) == []


def test_claim_limit_holds_when_many_rows_are_due_at_the_same_instant(db):
    # Regression: on Postgres `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` re-ran the
    # subquery per row and one sweeper claimed every due row, whatever the limit.
    for i in range(10):
        add(db, f"k{i}", NOW)
    first = claim(db, limit=3, owner="A")
    assert [r.key for r in first] == ["k0", "k1", "k2"]
    assert len(claim(db, limit=3, owner="B")) == 3
    assert len(claim(db, limit=1, owner="C")) == 1
    owners = Counter(r.lease_owner for r in rows(db).values())
    assert owners == {"A": 3, "B": 3, "C": 1, None: 3}


def test_a_second_claim_at_the_same_instant_gets_nothing(db):
    for i in range(3):
        add(db, f"k{i}", NOW)
    assert len(claim(db, owner="A")) == 3
    assert claim(db, owner="B") == []
    assert claim(db, owner="A") == []
    # still nothing just before the lease ends
    assert claim(db, owner="B", now=NOW + LEASE - timedelta(seconds=1)) == []
    assert {r.lease_owner for r in rows(db).values()} == {"A"}


def test_an_expired_lease_is_reclaimed_by_another_owner(db):
    add(db, "k", NOW)
    [mine] = claim(db, owner="A")
    assert mine.attempts == 1
    later = NOW + LEASE  # A died: its lease runs out
    [theirs] = claim(db, owner="B", now=later)
    assert theirs.id == mine.id
    assert theirs.lease_owner == "B"
    assert theirs.attempts == 2
    assert aware(theirs.lease_expires_at) == later + LEASE
    assert claim(db, owner="C", now=later) == []


def test_a_stale_owner_cannot_complete_fail_or_retry_a_row_taken_over(db):
    add(db, "k", NOW)
    [stale] = claim(db, owner="A")
    [current] = claim(db, owner="B", now=NOW + LEASE + timedelta(seconds=1))
    with db.session() as s:
        assert due_work.complete(s, item=stale, owner="A") is False
        assert due_work.fail_permanently(s, item=stale, owner="A", error="x") is False
        assert due_work.retry_later(s, item=stale, owner="A", now=NOW, error="x") is False
    row = rows(db)["k"]
    assert row.state == WorkState.CLAIMED
    assert row.lease_owner == "B"
    assert row.last_error is None
    with db.session() as s:
        assert due_work.complete(s, item=current, owner="B") is True
    row = rows(db)["k"]
    assert row.state == WorkState.DONE
    assert row.lease_owner is None and row.lease_expires_at is None
    # done is final: completing again, or sweeping much later, changes nothing
    with db.session() as s:
        assert due_work.complete(s, item=current, owner="B") is False
    assert claim(db, owner="C", now=NOW + timedelta(days=30)) == []


def test_retry_later_backs_off_and_keeps_the_error(db):
    add(db, "k", NOW)
    now = NOW
    waits = []
    for attempt in range(1, 5):
        [item] = claim(db, owner="A", now=now)
        assert item.attempts == attempt
        with db.session() as s:
            assert due_work.retry_later(s, item=item, owner="A", now=now, error=f"slack:e{attempt}")
        row = rows(db)["k"]
        assert row.state == WorkState.PENDING
        assert row.last_error == f"slack:e{attempt}"
        assert row.lease_owner is None
        wait = aware(row.due_at) - now
        waits.append(wait)
        # not due before the backoff has passed
        assert claim(db, owner="B", now=now + wait - timedelta(seconds=1)) == []
        now = now + wait
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert due_work.backoff(30) == timedelta(hours=1)  # capped


def test_fail_permanently_is_never_claimed_again(db):
    add(db, "k", NOW)
    [item] = claim(db)
    with db.session() as s:
        assert due_work.fail_permanently(s, item=item, owner="A", error="account_inactive" * 30)
    row = rows(db)["k"]
    assert row.state == WorkState.FAILED
    assert row.last_error.startswith("account_inactive") and len(row.last_error) <= 200
    assert claim(db, owner="B", now=NOW + timedelta(days=365)) == []


def test_cancel_touches_only_pending_work_of_those_subjects(db):
    add(db, "a", NOW, subject=1)
    add(db, "b", NOW + timedelta(days=1), subject=1)
    add(db, "c", NOW, subject=1, kind="other.kind")
    add(db, "d", NOW, subject=2)
    add(db, "e", NOW, subject=1, team="T2")
    [claimed] = claim(db, limit=1)
    assert claimed.key == "a"
    with db.session() as s:
        assert due_work.cancel(s, team_id="T1", kinds=("test.kind",), subject_ids=[1]) == 1
        assert due_work.cancel(s, team_id="T1", kinds=("test.kind",), subject_ids=[]) == 0
    states = {k: r.state for k, r in rows(db).items()}
    assert states == {
        "a": WorkState.CLAIMED,  # in flight: its sender finishes it
        "b": WorkState.CANCELLED,
        "c": WorkState.PENDING,
        "d": WorkState.PENDING,
        "e": WorkState.PENDING,
    }
    # a cancelled row is never claimed, and cancelling again counts nothing
    got = claim(db, owner="B", now=NOW + timedelta(minutes=1))  # "a"'s lease still holds
    assert sorted(r.key for r in got) == ["c", "d", "e"]
    with db.session() as s:
        assert due_work.cancel(s, team_id="T1", kinds=("test.kind",), subject_ids=[1]) == 0


def test_reschedule_moves_only_pending_work(db):
    add(db, "k", NOW)
    with db.session() as s:
        assert due_work.reschedule(s, team_id="T1", key="k", due_at=NOW + timedelta(days=7))
        assert not due_work.reschedule(s, team_id="T2", key="k", due_at=NOW)
    assert claim(db) == []
    [item] = claim(db, now=NOW + timedelta(days=7))
    with db.session() as s:
        assert not due_work.reschedule(s, team_id="T1", key="k", due_at=NOW)
    assert aware(rows(db)["k"].due_at) == NOW + timedelta(days=7)
    assert item.key == "k"


def test_concurrent_claims_take_each_row_exactly_once(db):
    total, workers = 400, 4
    with db.session() as s:
        for i in range(total):
            due_work.schedule(
                s,
                team_id="T1",
                kind="test.kind",
                subject_id=i,
                key=f"k{i}",
                due_at=NOW - timedelta(seconds=i % 7),
            )
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
    duplicates = [i for i, n in Counter(all_ids).items() if n > 1]
    assert duplicates == []
    assert len(all_ids) == total
    stored = rows(db)
    assert {r.id for r in stored.values()} == set(all_ids)
    assert all(r.state == WorkState.DONE and r.attempts == 1 for r in stored.values())
    if db.dialect == "postgresql":
        # SKIP LOCKED: sweepers share the work instead of one claiming every row at once
        assert max(len(ids) for ids in taken.values()) < total


# -- the outbox: clocks, coalescing, hand-backs ----------------------------------------------


def test_leases_expire_on_the_database_clock_not_on_the_sweeps_now(db):
    """A sweep whose `now` is far ahead (run-due --now, or a fast clock) takes what is due at
    that instant, but never a live lease: leases are compared with the database's clock."""
    add(db, "a", NOW - timedelta(minutes=1))
    with db.session() as s:
        [row] = due_work.claim(s, now=NOW, owner="A", limit=10, lease=LEASE)
        clock = due_work.db_clock(s)
    assert aware(row.lease_expires_at) > clock  # granted on the database's clock
    with db.session() as s:  # a sweep a year ahead still leaves A's lease alone
        assert (
            due_work.claim(s, now=NOW + timedelta(days=365), owner="B", limit=10, lease=LEASE) == []
        )
    # once the database's clock passes the lease, it is taken over
    later = aware(row.lease_expires_at) + timedelta(seconds=1)
    [taken] = claim(db, now=NOW, owner="B", clock=later)
    assert taken.lease_owner == "B" and taken.attempts == 2


def test_db_clock_is_the_servers_clock(db):
    with db.session() as s:
        clock = due_work.db_clock(s)
    assert clock.tzinfo is not None
    assert abs((clock - datetime.now(UTC)).total_seconds()) < 60


def test_a_coalesced_row_is_one_live_row_and_reruns_when_asked_during_flight(db):
    def ask(now: datetime) -> None:
        with db.session() as s:
            due_work.schedule_coalesced(
                s,
                team_id="T1",
                kind="test.refresh",
                subject_id=1,
                key="refresh",
                now=now,
                min_interval=timedelta(seconds=1),
            )

    ask(NOW)
    ask(NOW + timedelta(milliseconds=10))  # pending already: nothing new
    assert len(rows(db)) == 1
    [item] = claim(db, now=NOW + timedelta(milliseconds=20))
    ask(NOW + timedelta(milliseconds=30))  # in flight: run once more when it finishes
    assert rows(db)["refresh"].rerun is True
    rerun_at = NOW + timedelta(seconds=1)
    with db.session() as s:
        assert due_work.complete(s, item=item, owner="A", rerun_at=rerun_at)
    row = rows(db)["refresh"]
    assert (row.state, row.rerun, aware(row.due_at)) == ("pending", False, rerun_at)
    [again] = claim(db, now=rerun_at)
    with db.session() as s:
        assert due_work.complete(s, item=again, owner="A")
    assert rows(db)["refresh"].state == "done"
    # done: asking again reuses the row, no sooner than min_interval after the last delivery
    finished = aware(rows(db)["refresh"].updated_at)
    ask(finished)
    row = rows(db)["refresh"]
    assert row.state == "pending" and row.attempts == 0
    assert aware(row.due_at) == finished + timedelta(seconds=1)
    assert len(rows(db)) == 1


def test_release_and_defer_hand_rows_back_without_spending_an_attempt(db):
    add(db, "a", NOW)
    add(db, "b", NOW)
    a, b = claim(db, now=NOW, owner="A")
    with db.session() as s:
        assert due_work.release(s, ids=[a.id], owner="A") == 1
        assert due_work.release(s, ids=[b.id], owner="someone else") == 0
        assert due_work.defer(s, item=b, owner="A", until=NOW + timedelta(seconds=10), error="429")
    got = rows(db)
    assert (got["a"].state, got["a"].attempts, got["a"].lease_owner) == ("pending", 0, None)
    assert (got["b"].state, got["b"].attempts, aware(got["b"].due_at)) == (
        "pending",
        0,
        NOW + timedelta(seconds=10),
    )
    assert [r.key for r in claim(db, now=NOW, owner="B")] == ["a"]  # at once, no lease wait


def test_a_host_name_of_any_length_fits_the_lease_owner(db):
    from bot.engine.dispatcher import worker_id

    owner = "h" * 200 + worker_id()[-20:]
    add(db, "a", NOW)
    [row] = claim(db, now=NOW, owner=owner[:255])
    assert rows(db)["a"].lease_owner == owner[:255]
    assert len(worker_id()) <= 255


def test_backlog_counts_live_and_failed_rows_with_the_oldest_due(db):
    add(db, "a", NOW - timedelta(minutes=5), kind="k1")
    add(db, "b", NOW - timedelta(minutes=1), kind="k1")
    add(db, "c", NOW, kind="k2")
    claim(db, now=NOW - timedelta(minutes=2), owner="A")  # takes "a"
    with db.read() as s:
        got = {(k, st): (n, aware(oldest)) for k, st, n, oldest in due_work.backlog(s)}
    assert got == {
        ("k1", "claimed"): (1, NOW - timedelta(minutes=5)),
        ("k1", "pending"): (1, NOW - timedelta(minutes=1)),
        ("k2", "pending"): (1, NOW),
    }
