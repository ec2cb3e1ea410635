"""The table of due work: schedule, claim with a lease, complete, retry, fail, cancel.

Exactly-once delivery rests on three things:
- a unique ``(team_id, key)`` per piece of work, so scheduling twice never makes two;
- an atomic claim: one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
  RETURNING`` on Postgres, and the same conditional UPDATE on SQLite, where every writing
  transaction holds the database's write lock from BEGIN (BEGIN IMMEDIATE), so the rows it
  returns are the rows it changed;
- a lease: a claimed row whose owner died goes back to the sweep when the lease expires.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import DueWork, WorkState, utcnow

MAX_BACKOFF = timedelta(hours=1)
_TABLE = DueWork.__table__  # type: ignore[attr-defined]


def schedule(
    session: Session,
    *,
    team_id: str,
    kind: str,
    subject_id: int,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Add a piece of work unless one with this key exists. True if it was added."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    result = session.execute(
        insert(DueWork)
        .values(
            team_id=team_id,
            kind=kind,
            subject_id=subject_id,
            key=key,
            payload=json.dumps(payload or {}),
            due_at=due_at,
            state=WorkState.PENDING,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "key"])
        .returning(DueWork.id)
    )
    # A returned id, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    return result.first() is not None


def claim(
    session: Session, *, now: datetime, owner: str, limit: int, lease: timedelta
) -> list[DueWork]:
    """Atomically take up to ``limit`` due rows (pending, or claimed with an expired lease)."""
    due = or_(
        and_(DueWork.state == WorkState.PENDING, DueWork.due_at <= now),
        and_(DueWork.state == WorkState.CLAIMED, DueWork.lease_expires_at <= now),
    )
    candidates = select(DueWork.id).where(due).order_by(DueWork.due_at, DueWork.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # A materialized CTE runs once. As `id IN (subquery)` Postgres plans a semi join that
        # re-runs the subquery per row; SKIP LOCKED then skips the rows this statement just
        # updated and the LIMIT is ignored: one sweeper would claim every due row.
        picked = (
            candidates.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        )
        chosen = DueWork.id.in_(select(picked.c.id))
    else:
        chosen = DueWork.id.in_(candidates.scalar_subquery())
    stmt = (
        update(DueWork)
        .where(chosen, due)
        .values(
            state=WorkState.CLAIMED,
            lease_owner=owner,
            lease_expires_at=now + lease,
            attempts=DueWork.attempts + 1,
            updated_at=utcnow(),
        )
        .returning(DueWork)
    )
    rows = list(session.execute(select(DueWork).from_statement(stmt)).scalars())
    rows.sort(key=lambda r: (r.due_at, r.id or 0))
    return rows


def holds_lease(session: Session, *, item: DueWork, owner: str) -> bool:
    """True while ``owner`` still holds the row (no other sweeper re-claimed it after the
    lease ran out). Checked before sending, so a slow sweeper never resends what another one
    took over: the only message that can repeat is the one in flight."""
    return (
        session.execute(
            select(DueWork.id).where(
                DueWork.id == item.id,
                DueWork.state == WorkState.CLAIMED,
                DueWork.lease_owner == owner,
            )
        ).first()
        is not None
    )


# Built once: runs once per delivered item, and the SET clause comes from the parameters.
_FINISH = update(_TABLE).where(
    _TABLE.c.id == bindparam("finish_id"),
    _TABLE.c.state == WorkState.CLAIMED,
    _TABLE.c.lease_owner == bindparam("finish_owner"),
)


def _finish(session: Session, item: DueWork, owner: str, **values: Any) -> bool:
    """Change a row only while we still hold its lease (a row re-claimed after our lease
    expired belongs to the other sweeper now). A prebuilt Core UPDATE on the session's
    connection: it skips rebuilding the statement and the ORM's bulk-update bookkeeping
    (no loaded objects need synchronising)."""
    result = session.connection().execute(
        _FINISH,
        {"finish_id": item.id, "finish_owner": owner, "updated_at": utcnow(), **values},
    )
    return bool(result.rowcount)


def complete(session: Session, *, item: DueWork, owner: str) -> bool:
    return _finish(
        session, item, owner, state=WorkState.DONE, lease_owner=None, lease_expires_at=None
    )


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


def retry_later(session: Session, *, item: DueWork, owner: str, now: datetime, error: str) -> bool:
    return _finish(
        session,
        item,
        owner,
        state=WorkState.PENDING,
        last_error=error[:200],
        due_at=now + backoff(item.attempts),
        lease_owner=None,
        lease_expires_at=None,
    )


def cancel(
    session: Session, *, team_id: str, kinds: tuple[str, ...], subject_ids: list[int]
) -> int:
    """Cancel pending work about these subjects; returns how many rows it cancelled."""
    if not subject_ids:
        return 0
    result = session.execute(
        update(DueWork)
        .where(
            DueWork.team_id == team_id,
            DueWork.kind.in_(kinds),
            DueWork.subject_id.in_(subject_ids),
            DueWork.state == WorkState.PENDING,
        )
        .values(state=WorkState.CANCELLED, updated_at=utcnow())
    )
    return int(result.rowcount or 0)


def reschedule(session: Session, *, team_id: str, key: str, due_at: datetime) -> bool:
    result = session.execute(
        update(DueWork)
        .where(DueWork.team_id == team_id, DueWork.key == key, DueWork.state == WorkState.PENDING)
        .values(due_at=due_at, updated_at=utcnow())
    )
    return bool(result.rowcount)


def pending_for(session: Session, *, team_id: str, kind: str, subject_id: int) -> list[DueWork]:
    return list(
        session.execute(
            select(DueWork).where(
                DueWork.team_id == team_id,
                DueWork.kind == kind,
                DueWork.subject_id == subject_id,
                DueWork.state.in_([WorkState.PENDING, WorkState.CLAIMED]),
            )
        ).scalars()
    )
