"""The decision log: decisions, the people named on them, stances, history, links."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts


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


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_decisions_team_number"),
        Index("ix_decisions_team_status", "team_id", "status"),
        # a decision imported from a file remembers it (`decisionbot import`, migration 0010)
        Index("uq_decisions_team_source", "team_id", "source_path", unique=True),
        # the weekly digest: a channel's decisions by time (migration 0010)
        Index("ix_decisions_team_channel_created", "team_id", "channel_id", "created_at"),
        # an export links supersede chains both ways (migration 0011); most rows have neither
        Index(
            "ix_decisions_supersedes",
            "supersedes_id",
            postgresql_where=sql_text("supersedes_id IS NOT NULL"),
            sqlite_where=sql_text("supersedes_id IS NOT NULL"),
        ),
        Index(
            "ix_decisions_superseded_by",
            "superseded_by_id",
            postgresql_where=sql_text("superseded_by_id IS NOT NULL"),
            sqlite_where=sql_text("superseded_by_id IS NOT NULL"),
        ),
        # decision health (migration 0018): a period's decisions by when they were recorded
        # and accepted, over a whole workspace
        Index("ix_decisions_team_created", "team_id", "created_at"),
        Index("ix_decisions_team_accepted", "team_id", "accepted_at"),
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
    # ADR files (`decisionbot import`): the file it came from (relative to the imported
    # folder) and the sha256 of its text, so a second import creates nothing and reports a
    # changed file; sections the bot has no field for, kept in order as
    # JSON [[heading, body], ...]; people named in the file who match no Slack user, kept as
    # text: JSON {"decider": [...], "consulted": [...], "informed": [...]}.
    source_path: str | None = Field(default=None, max_length=500)
    source_hash: str | None = Field(default=None, max_length=64)
    # the imported file as read, so an export gives it back byte for byte while nothing it
    # shows has changed in Slack: its exact text, the format the parser recognised (nygard,
    # madr2, madr3, madr4) and the sha256 of the house-style file written for it right after
    # the import (``adr_files.write.write_file``). NULL: made in Slack, or imported before
    # these were kept (migration 0015).
    source_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source_format: str | None = Field(default=None, max_length=8)
    source_baseline: str | None = Field(default=None, max_length=64)
    extra_sections: str = Field(
        default="[]",
        sa_column=Column(Text, nullable=False, default="[]", server_default="[]"),
    )
    named_people: str = Field(
        default="{}",
        sa_column=Column(Text, nullable=False, default="{}", server_default="{}"),
    )
    # decision health (migration 0018): one-way or two-way door (storage.models.health.Door,
    # None: not said); when it was accepted (a decision recorded as accepted: its created_at)
    # and when it ended (rejected, superseded or deprecated)
    door: str | None = Field(default=None, max_length=8)
    # the day a proposed decision should be decided by (migration 0019): deciders without a
    # stance are nudged the working day before, the author on the day
    decide_by: date | None = None
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()

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
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


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
    created_at: datetime = _ts()


class LinkKind(StrEnum):
    AMENDS = "amends"  # decision_id amends other_id ("Amended by" on the other)
    RELATES = "relates"  # decision_id relates to other_id (shown on both)


class DecisionLink(SQLModel, table=True):
    """Links between decisions other than supersede (which the decision rows carry both
    ways): amends and relates-to, as ADR files write them (`Amends [2. …](0002-….md)`)."""

    __tablename__ = "decision_links"
    __table_args__ = (
        UniqueConstraint("decision_id", "other_id", "kind", name="uq_decision_links"),
        Index("ix_decision_links_other", "other_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    other_id: int = Field(foreign_key="decisions.id")
    kind: str = Field(max_length=16)
    created_at: datetime = _ts()
