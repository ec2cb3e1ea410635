"""The parking lot's scope-creep watch (`/parkinglot watch on`): which channels are watched for
messages that look like scope additions, and at most one "Park it" offer per person per hour
(taken atomically, so two processes never both offer)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.models import ParkingWatch, WatchOffer, utcnow

OFFER_EVERY = timedelta(hours=1)


def watched(session: Session, *, team_id: str, channel_id: str) -> bool:
    row = session.get(ParkingWatch, (team_id, channel_id))
    return bool(row is not None and row.enabled)


def set_watch(session: Session, *, team_id: str, channel_id: str, on: bool, actor_id: str) -> bool:
    """True if that changed anything; who did it is kept."""
    row = session.get(ParkingWatch, (team_id, channel_id))
    if row is None:
        if not on:
            return False
        row = ParkingWatch(team_id=team_id, channel_id=channel_id, changed_by=actor_id)
    elif row.enabled == on:
        return False
    row.enabled = on
    row.changed_by = actor_id
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return True


def watch_row(session: Session, *, team_id: str, channel_id: str) -> ParkingWatch | None:
    return session.get(ParkingWatch, (team_id, channel_id))


def take_offer(session: Session, *, team_id: str, user_id: str, now: datetime) -> bool:
    """At most one "Park it" offer per person per hour: True if this one may go (and it is
    remembered, atomically, so two processes never both offer)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = session.execute(
        insert(WatchOffer)
        .values(team_id=team_id, user_id=user_id, offered_at=now)
        .on_conflict_do_update(
            index_elements=["team_id", "user_id"],
            set_={"offered_at": now},
            where=col(WatchOffer.offered_at) <= now - OFFER_EVERY,
        )
        .returning(col(WatchOffer.user_id))
    )
    return result.first() is not None
