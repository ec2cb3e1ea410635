"""SQLModel tables. Every table carries ``team_id`` and every query filters by it.

Timestamps are timezone-aware UTC. Search columns (SQLite FTS5 table, Postgres tsvector) are
created by the migrations, not declared here, because they differ per dialect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: object) -> object:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kw)  # type: ignore[arg-type]


class DecisionStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    DEPRECATED = "deprecated"


class Role(StrEnum):
    DECIDER = "decider"
    CONSULTED = "consulted"
    INFORMED = "informed"


class StanceKind(StrEnum):
    AGREE = "agree"
    DISAGREE_AND_COMMIT = "disagree_and_commit"
    BLOCK = "block"


class Counter(SQLModel, table=True):
    """Per-workspace human numbers (ADR-7, E-3, P-12), allocated atomically."""

    __tablename__ = "counters"
    team_id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=16)
    value: int = 0


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_decisions_team_number"),
        Index("ix_decisions_team_status", "team_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    number: int
    title: str = Field(max_length=200)
    context: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    options: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    decision: str = Field(sa_column=Column(Text, nullable=False))
    consequences: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    success_criteria: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=DecisionStatus.PROPOSED, max_length=16)
    # Normalised, space-delimited with a leading and trailing space (" db infra ") so a tag
    # filter is an exact-word LIKE on either database.
    tags: str = Field(default="", max_length=600)
    review_date: date | None = None
    channel_id: str = Field(max_length=32)
    channel_private: bool = True
    message_ts: str | None = Field(default=None, max_length=32)
    post_error: str | None = Field(default=None, max_length=200)
    author_id: str = Field(max_length=32)
    source_permalink: str | None = Field(default=None, max_length=500)
    supersedes_id: int | None = Field(default=None, foreign_key="decisions.id")
    superseded_by_id: int | None = Field(default=None, foreign_key="decisions.id")
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split()


class DecisionMember(SQLModel, table=True):
    """A person named on a decision as decider, consulted or informed."""

    __tablename__ = "decision_members"
    __table_args__ = (
        UniqueConstraint("decision_id", "role", "user_id", name="uq_decision_members"),
        Index("ix_decision_members_user", "team_id", "user_id", "role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id", index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)


class Stance(SQLModel, table=True):
    """A person's current stance on a decision: one row per (decision, person)."""

    __tablename__ = "stances"
    __table_args__ = (
        UniqueConstraint("decision_id", "user_id", name="uq_stances_decision_user"),
        Index("ix_stances_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    user_id: str = Field(max_length=32)
    kind: str = Field(max_length=24)
    concern: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    change_my_mind: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    committed: bool = False
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]


class DecisionEvent(SQLModel, table=True):
    """Append-only history: every state change with actor and time, and what it replaced."""

    __tablename__ = "decision_events"
    __table_args__ = (Index("ix_decision_events_decision", "decision_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    actor_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _ts()  # type: ignore[assignment]


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled, so retries (X-Slack-Retry-Num) are no-ops."""

    __tablename__ = "processed_events"

    team_id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _ts()  # type: ignore[assignment]
