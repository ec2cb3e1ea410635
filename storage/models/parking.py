"""The parking lot: scope requests, parked, scored and decided; the scope-creep watch."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from storage.models.base import UTCDateTime, _ts


class ParkingState(StrEnum):
    PARKED = "parked"  # waiting for triage
    ACCEPTED = "accepted"  # let into scope (with its timeline impact)
    DEFERRED = "deferred"  # comes back to the channel on deferred_until
    DECLINED = "declined"
    DONE = "done"
    WITHDRAWN = "withdrawn"  # by the requester


class Moscow(StrEnum):
    MUST = "must"
    SHOULD = "should"
    COULD = "could"
    WONT = "wont"


class ParkingItem(SQLModel, table=True):
    """A scope request (P-n), parked from a message or `/parkinglot`."""

    __tablename__ = "parking_items"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_parking_items_team_number"),
        Index("ix_parking_items_team_state", "team_id", "state", "rice"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    request: str = Field(sa_column=Column(Text, nullable=False))
    requester_id: str | None = Field(default=None, max_length=32)
    why: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    parked_by: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    channel_private: bool = True
    thread_ts: str | None = Field(default=None, max_length=32)  # the message it came from
    permalink: str | None = Field(default=None, max_length=500)
    decision_id: int | None = Field(default=None, foreign_key="decisions.id")
    round_id: int | None = Field(default=None, foreign_key="estimate_rounds.id")
    # RICE inputs (None: unscored) and the score, stored so lists sort in the database
    reach: float | None = None  # people (or events) per month
    impact: float | None = None  # 3, 2, 1, 0.5, 0.25
    confidence: int | None = None  # 100, 80, 50 (%)
    effort: float | None = None  # person-weeks
    rice: float | None = None  # reach x impact x confidence / effort
    moscow: str | None = Field(default=None, max_length=8)
    state: str = Field(default=ParkingState.PARKED, max_length=16)
    timeline_days: float | None = None  # when accepted: what it adds, in working days
    deferred_until: date | None = None
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()

    @property
    def ref(self) -> str:
        return f"P-{self.number}"


# list_items' order (migration 0008; on SQLite without NULLS LAST, which DESC implies there)
Index(
    "ix_parking_items_list",
    col(ParkingItem.team_id),
    col(ParkingItem.state),
    col(ParkingItem.rice).desc().nulls_last(),
    col(ParkingItem.created_at),
    col(ParkingItem.number),
)


class ParkingEvent(SQLModel, table=True):
    """Append-only history of an item: every transition with actor and time."""

    __tablename__ = "parking_events"
    __table_args__ = (Index("ix_parking_events_item", "item_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    item_id: int = Field(foreign_key="parking_items.id")
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _ts()


class ParkingWatch(SQLModel, table=True):
    """A channel whose messages are watched for scope additions (`/parkinglot watch on`)."""

    __tablename__ = "parking_watches"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    enabled: bool = True
    changed_by: str = Field(max_length=32)
    updated_at: datetime = _ts()


class WatchOffer(SQLModel, table=True):
    """When a person was last offered "Park it" (at most once an hour)."""

    __tablename__ = "watch_offers"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    offered_at: datetime = Field(sa_type=UTCDateTime)
