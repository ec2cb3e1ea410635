"""Slack events seen: each `event_id` is handled once, and the mark is kept for 7 days.

Bolt acks an event before its listener runs, so Slack never retries a handler that failed:
an event listener writes the mark (``first_delivery``) in the same transaction as the rows
its event leads to (a cache update, outbox work). If that transaction fails, neither the mark
nor the work exists; if it commits, the engine delivers the work and retries it on failure.

Old marks are pruned by one `events.prune` row a day for every workspace together: each run
schedules the next day's (and starting an engine makes sure today's exists), so handling an
event costs no extra statement.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage import due_work
from storage.models import ProcessedEvent, utcnow

KEEP = timedelta(days=7)
ALL_WORKSPACES = "*"  # the team_id of work that is about every workspace


class EventWork(StrEnum):
    PRUNE = "events.prune"


def first_delivery(session: Session, *, team_id: str, event_id: str) -> bool:
    """Remember a Slack event id; False if it was seen before (a retry). An event without an
    id (Slack always sends one) cannot be de-duplicated: handled."""
    if not event_id:
        return True
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: on Postgres (SQLAlchemy 2.1 + psycopg) this INSERT's rowcount is
    # -1, which is truthy, so a rowcount check treats every Slack retry as a first delivery.
    result = session.execute(
        insert(ProcessedEvent)
        .values(team_id=team_id, event_id=event_id[:64], created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(ProcessedEvent.event_id))
    )
    return result.first() is not None


def schedule_prune(session: Session, *, now: datetime) -> bool:
    """The pruning due at 03:00 UTC after ``now`` (once per day, by its key)."""
    day = now.date() + timedelta(days=1)
    return due_work.schedule(
        session,
        team_id=ALL_WORKSPACES,
        kind=EventWork.PRUNE,
        subject_id=0,
        key=f"{EventWork.PRUNE}:{day.isoformat()}",
        due_at=datetime.combine(day, time(3, 0), tzinfo=now.tzinfo),
    )


def prune(session: Session, *, now: datetime) -> int:
    """Forget event ids older than 7 days, in every workspace (Slack retries within minutes)."""
    result = session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.created_at) < now - KEEP))
    return int(result.rowcount or 0)
