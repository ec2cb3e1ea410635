"""The outbox: every Slack side effect and every piece of scheduled work is a row here,
written in the same transaction as the change it follows; dispatchers claim, deliver and
finish the rows.

Exactly-once delivery rests on three things:
- a unique ``(team_id, key)`` per piece of work, so scheduling twice never makes two;
- an atomic claim: one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
  RETURNING`` on Postgres, and the same conditional UPDATE on SQLite, where every writing
  transaction holds the database's write lock from BEGIN (BEGIN IMMEDIATE), so the rows it
  returns are the rows it changed;
- a lease on the database's clock: a claimed row whose owner died goes back to the sweep
  when the lease expires, and a process whose own clock runs fast cannot take live leases.

A transaction that writes a row is flagged (``session.info["outbox"]``): ``Database`` wakes
this process's dispatcher after the commit, and on Postgres the transaction also sends
``NOTIFY decisionbot_due``, which Postgres delivers to listening workers only on commit.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    bindparam,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.due_claim import Claim, claim_statement
from storage.models import DueWork, JsonObject, UTCDateTime, WorkState, utcnow
from storage.tables import DUE_WORK

MAX_BACKOFF = timedelta(hours=1)
NOTIFY_CHANNEL = "decisionbot_due"
_LIVE = (WorkState.PENDING, WorkState.CLAIMED)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def mark_written(session: Session) -> None:
    """Flag the transaction: the dispatcher is woken once it commits (see module doc)."""
    if session.info.get("outbox"):
        return
    session.info["outbox"] = True
    if _dialect(session) == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def schedule(
    session: Session,
    *,
    team_id: str,
    kind: str,
    subject_id: int,
    key: str,
    due_at: datetime,
    payload: JsonObject | None = None,
    lane: str | None = None,
) -> bool:
    """Add a piece of work unless one with this key exists. True if it was added."""
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    now = utcnow()
    result = session.execute(
        insert(DueWork)
        .values(
            team_id=team_id,
            kind=str(kind),
            subject_id=subject_id,
            key=key,
            payload=json.dumps(payload or {}),
            due_at=due_at,
            state=WorkState.PENDING,
            attempts=0,
            lane=lane,
            rerun=False,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "key"])
        .returning(col(DueWork.id))
    )
    # A returned id, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    added = result.first() is not None
    if added:
        mark_written(session)
    return added


def schedule_coalesced(
    session: Session,
    *,
    team_id: str,
    kind: str,
    subject_id: int,
    key: str,
    now: datetime,
    min_interval: timedelta = timedelta(0),
    payload: JsonObject | None = None,
    lane: str | None = None,
    insert_first: bool = False,
) -> None:
    """One live row per ``key`` whose handler delivers the *current* state (a message's
    refresh): asking again while one is pending changes nothing; while one is in flight it
    is marked to run once more when it finishes; once finished, the row is reused, no sooner
    than ``min_interval`` after the last delivery. A burst of requests thus makes a few
    deliveries, and the last one starts after the last request committed.

    The row is looked for first (it exists for every message refreshed before: two
    statements, not an insert that conflicts and then these two); with ``insert_first`` (the
    subject is new, so no row can exist yet) the insert comes first."""
    row = None if insert_first else _live_or_finished(session, team_id=team_id, key=key)
    if row is None:
        if schedule(
            session,
            team_id=team_id,
            kind=kind,
            subject_id=subject_id,
            key=key,
            due_at=now,
            payload=payload,
            lane=lane,
        ):
            return
        row = _live_or_finished(session, team_id=team_id, key=key)  # inserted meanwhile
        assert row is not None  # the insert conflicted with it
    if row.state == WorkState.PENDING:
        return
    if row.state == WorkState.CLAIMED:
        if not row.rerun:
            row.rerun = True
            session.add(row)
        return
    # done, failed or cancelled: run it again (a fresh row, attempts and all).
    row.state = WorkState.PENDING
    row.due_at = max(now, row.updated_at + min_interval)
    row.attempts = 0
    row.last_error = None
    row.rerun = False
    row.payload = json.dumps(payload or {})
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    mark_written(session)


_BY_KEY = (
    select(DueWork)
    .where(col(DueWork.team_id) == bindparam("team"), col(DueWork.key) == bindparam("key"))
    .with_for_update()
)


def _live_or_finished(session: Session, *, team_id: str, key: str) -> DueWork | None:
    """The row of ``key``, locked until the transaction ends (None: there is none)."""
    return session.scalars(_BY_KEY, {"team": team_id, "key": key}).one_or_none()


def db_clock(session: Session) -> datetime:
    """The database's clock: leases are granted and expired on it, never on a process's
    own clock. (SQLite runs in this process: its clock is ours.)"""
    if _dialect(session) == "postgresql":
        clock: datetime = session.scalars(select(func.clock_timestamp())).one()
        return clock
    return utcnow()


# The claim statement, built once per dialect (and clock source).
_CLAIMS: dict[tuple[str, bool], Claim] = {}


def claim(
    session: Session,
    *,
    now: datetime,
    owner: str,
    limit: int,
    lease: timedelta,
    clock: datetime | None = None,
) -> list[DueWork]:
    """Atomically take up to ``limit`` rows: pending and due at ``now``, or claimed with a
    lease that expired on the database's clock; round-robin across workspaces (each
    workspace's oldest row, then each one's second, ...: ``storage.due_claim``), oldest
    first within one. ``now`` only says what is due (``run-due --now`` may be in the future); leases are always granted and expired on the database's
    clock — ``clock_timestamp()`` inside the statement on Postgres, this process's clock on
    SQLite (it runs in-process) — or on ``clock`` when a caller gives one (tests)."""
    dialect = _dialect(session)
    if dialect != "postgresql" and clock is None:
        clock = utcnow()
    key = (dialect, clock is not None)
    stmt = _CLAIMS.get(key)
    if stmt is None:
        stmt = _CLAIMS[key] = claim_statement(dialect, given_clock=clock is not None)
    params: dict[str, object] = {"now": now, "owner": owner, "lim": limit, "updated_at": utcnow()}
    if clock is None:
        params["lease"] = lease
    else:
        params["clock"] = clock
        params["lease_until"] = clock + lease
    result = session.connection().execute(stmt, params)
    rows = sorted((DueWork(**row._mapping) for row in result), key=lambda r: (r.due_at, r.id or 0))
    # In the claim's own order (every workspace's first row, then every second, ...), so a
    # dispatcher starts them fairly too.
    turns: Counter[str] = Counter()
    fair: list[tuple[int, DueWork]] = []
    for row in rows:
        turns[row.team_id] += 1
        fair.append((turns[row.team_id], row))
    return [row for _, row in sorted(fair, key=lambda pair: pair[0])]


def _finish(session: Session, item: DueWork, owner: str, **values: object) -> bool:
    """Change a row only while we still hold its lease (a row re-claimed after our lease
    expired belongs to the other sweeper now)."""
    result = session.connection().execute(
        update(DUE_WORK)
        .where(
            DUE_WORK.c.id == item.id,
            DUE_WORK.c.state == WorkState.CLAIMED,
            DUE_WORK.c.lease_owner == owner,
        )
        .values(updated_at=utcnow(), **values)
    )
    return bool(result.rowcount)


# Built once: it runs once per delivered row. Done — or, for a coalesced row asked for again
# while in flight, pending again at :rerun_at.
_COMPLETE = (
    update(DUE_WORK)
    .where(
        DUE_WORK.c.id == bindparam("row_id"),
        DUE_WORK.c.state == WorkState.CLAIMED,
        DUE_WORK.c.lease_owner == bindparam("owner"),
    )
    .values(
        state=case((DUE_WORK.c.rerun, WorkState.PENDING.value), else_=WorkState.DONE.value),
        due_at=case(
            (DUE_WORK.c.rerun, bindparam("rerun_at", type_=UTCDateTime())), else_=DUE_WORK.c.due_at
        ),
        rerun=False,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=bindparam("finished_at", type_=UTCDateTime()),
        payload=func.coalesce(
            bindparam("payload", type_=DUE_WORK.c.payload.type), DUE_WORK.c.payload
        ),
    )
)


def complete(
    session: Session,
    *,
    item: DueWork,
    owner: str,
    rerun_at: datetime | None = None,
    payload: str | None = None,
) -> bool:
    """Done — or, for a coalesced row asked for again while in flight, pending again at
    ``rerun_at`` (default: now). ``payload``: the row's payload from now on (where its
    message landed, ``Job.landed``); None keeps it."""
    finished = utcnow()
    result = session.connection().execute(
        _COMPLETE,
        {
            "row_id": item.id,
            "owner": owner,
            "rerun_at": rerun_at or finished,
            "finished_at": finished,
            "payload": payload,
        },
    )
    return bool(result.rowcount)


def fail_permanently(session: Session, *, item: DueWork, owner: str, error: str) -> bool:
    return _finish(
        session,
        item,
        owner,
        state=WorkState.FAILED,
        last_error=error[:200],
        lease_owner=None,
        lease_expires_at=None,
    )


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    return min(timedelta(seconds=30 * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _back_to_pending(
    session: Session, item: DueWork, owner: str, *, due_at: datetime, error: str, refund: bool
) -> bool:
    """Return a claimed row to pending at ``due_at``; ``refund``: this attempt didn't count."""
    extra: dict[str, object] = {"attempts": DUE_WORK.c.attempts - 1} if refund else {}
    return _finish(
        session,
        item,
        owner,
        state=WorkState.PENDING,
        last_error=error[:200],
        due_at=due_at,
        lease_owner=None,
        lease_expires_at=None,
        **extra,
    )


def defer(session: Session, *, item: DueWork, owner: str, until: datetime, error: str) -> bool:
    """Put a claimed row back until ``until`` without spending an attempt (Slack said
    Retry-After: the item did nothing wrong)."""
    return _back_to_pending(session, item, owner, due_at=until, error=error, refund=True)


def release(session: Session, *, ids: list[int], owner: str) -> int:
    """Hand claimed rows that were never started back at once (shutdown), attempts refunded:
    another process takes them without waiting for the lease to expire."""
    if not ids:
        return 0
    result = session.exec(
        update(DueWork)
        .where(
            col(DueWork.id).in_(ids),
            col(DueWork.state) == WorkState.CLAIMED,
            col(DueWork.lease_owner) == owner,
        )
        .values(
            state=WorkState.PENDING,
            attempts=col(DueWork.attempts) - 1,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=utcnow(),
        )
    )
    if result.rowcount:
        mark_written(session)
    return int(result.rowcount or 0)


def retry_later(session: Session, *, item: DueWork, owner: str, now: datetime, error: str) -> bool:
    """Back to pending after the backoff for its attempts so far."""
    return _back_to_pending(
        session, item, owner, due_at=now + backoff(item.attempts), error=error, refund=False
    )


def cancel(
    session: Session, *, team_id: str, kinds: tuple[str, ...], subject_ids: list[int]
) -> int:
    """Cancel pending work about these subjects; returns how many rows it cancelled."""
    if not subject_ids:
        return 0
    result = session.exec(
        update(DueWork)
        .where(
            col(DueWork.team_id) == team_id,
            col(DueWork.kind).in_(kinds),
            col(DueWork.subject_id).in_(subject_ids),
            col(DueWork.state) == WorkState.PENDING,
        )
        .values(state=WorkState.CANCELLED, updated_at=utcnow())
    )
    return int(result.rowcount or 0)


def reschedule(session: Session, *, team_id: str, key: str, due_at: datetime) -> bool:
    result = session.exec(
        update(DueWork)
        .where(
            col(DueWork.team_id) == team_id,
            col(DueWork.key) == key,
            col(DueWork.state) == WorkState.PENDING,
        )
        .values(due_at=due_at, updated_at=utcnow())
    )
    return bool(result.rowcount)


def pending_for(session: Session, *, team_id: str, kind: str, subject_id: int) -> list[DueWork]:
    return list(
        session.scalars(
            select(DueWork).where(
                col(DueWork.team_id) == team_id,
                col(DueWork.kind) == kind,
                col(DueWork.subject_id) == subject_id,
                col(DueWork.state).in_([WorkState.PENDING, WorkState.CLAIMED]),
            )
        )
    )


def claimed_count(session: Session, *, now: datetime) -> int:
    """Rows claimed by a dispatcher, not finished, and whose lease still runs."""
    return session.scalars(
        select(func.count())
        .select_from(DueWork)
        .where(col(DueWork.state) == WorkState.CLAIMED, col(DueWork.lease_expires_at) > now)
    ).one()


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending row falls due (the dispatcher sleeps until then)."""
    return session.scalars(
        select(func.min(col(DueWork.due_at))).where(col(DueWork.state) == WorkState.PENDING)
    ).one_or_none()


def backlog(session: Session) -> list[tuple[str, str, int, datetime | None]]:
    """(kind, state, rows, oldest due_at) for live and failed rows, for the metrics."""
    rows: Sequence[tuple[str, str, int, datetime]] = session.execute(
        select(col(DueWork.kind), col(DueWork.state), func.count(), func.min(col(DueWork.due_at)))
        .where(col(DueWork.state).in_([*_LIVE, WorkState.FAILED, WorkState.PAUSED]))
        .group_by(col(DueWork.kind), col(DueWork.state))
    ).all()
    return [(k, st, int(n), oldest) for k, st, n, oldest in rows]
