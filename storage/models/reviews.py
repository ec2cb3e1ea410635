"""Decision reviews ("Did this decision work?") and the workspace's schedule settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts


class WorkspaceSettings(SQLModel, table=True):
    """Per-workspace schedule settings (`/adr settings ...`)."""

    __tablename__ = "workspace_settings"

    team_id: str = Field(primary_key=True, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)  # None: the deciders' own
    review_hour: int = 10
    nudge_after_days: int = 3  # working days
    max_nudges: int = 2


class ReviewState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    WORKED = "worked"
    PARTLY = "partly"
    DIDNT_WORK = "didnt_work"


class DissentAnswer(StrEnum):
    YES = "yes"  # the concern materialised
    NO = "no"
    TOO_EARLY = "too_early"


class Review(SQLModel, table=True):
    """One "did this decision work?" round for a decision."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("decision_id", "round", name="uq_reviews_decision_round"),
        Index("ix_reviews_team_state", "team_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    round: int = 1
    due_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(default="UTC", max_length=64)
    state: str = Field(default=ReviewState.SCHEDULED, max_length=16)
    nudges_sent: int = 0
    outcome: str | None = Field(default=None, max_length=16)
    outcome_by: str | None = Field(default=None, max_length=32)
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class ReviewAsk(SQLModel, table=True):
    """A person asked in a review: the author/deciders (outcome) or a dissenter (concern)."""

    __tablename__ = "review_asks"
    __table_args__ = (UniqueConstraint("review_id", "user_id", "role", name="uq_review_asks"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    review_id: int = Field(foreign_key="reviews.id", index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)  # "owner" or "dissenter"
    concern: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    channel_id: str | None = Field(default=None, max_length=32)  # where the DM landed
    message_ts: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=16)
    what_happened: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    learned: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    dissent_answer: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
