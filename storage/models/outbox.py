"""The outbox (scheduled work) and the records that make requests idempotent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled, so retries (X-Slack-Retry-Num) are no-ops."""

    __tablename__ = "processed_events"

    team_id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _ts()


class ViewSubmission(SQLModel, table=True):
    """Modal submissions already recorded, by Slack's view id: pressing Submit again on the
    same modal (Slack allows it while the first answer is slow) records nothing twice."""

    __tablename__ = "view_submissions"

    team_id: str = Field(primary_key=True, max_length=32)
    view_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    created_at: datetime = _ts()


class CommandInvocation(SQLModel, table=True):
    """Slash commands that made something, by Slack's trigger id (one per invocation): the
    same signed request sent again (a replay) makes nothing twice. Kept a day."""

    __tablename__ = "command_invocations"
    __table_args__ = (Index("ix_command_invocations_created", "created_at"),)

    team_id: str = Field(primary_key=True, max_length=32)
    trigger_id: str = Field(primary_key=True, max_length=128)
    kind: str = Field(max_length=32)
    # The number of what it made (P-3 -> 3), written in the transaction that made it.
    number: int = 0
    created_at: datetime = _ts()


class WorkState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"  # a permanent Slack error: recorded, shown to a human, not retried
    CANCELLED = "cancelled"
    # Its workspace uninstalled the app: waits, untouched, for a reinstall (or the purge).
    PAUSED = "paused"


class DueWork(SQLModel, table=True):
    """One piece of scheduled work. The table, not the timer, is the truth: run_due claims
    rows atomically with a lease, delivers, and marks them done."""

    __tablename__ = "due_work"
    __table_args__ = (
        UniqueConstraint("team_id", "key", name="uq_due_work_team_key"),
        Index("ix_due_work_sweep", "state", "due_at"),
        Index("ix_due_work_subject", "team_id", "kind", "subject_id"),
        # Fair claims: each workspace's oldest live rows, one index range each
        # (storage.due_claim.claim_statement repeats this condition word for word).
        Index(
            "ix_due_work_live_team",
            "team_id",
            "due_at",
            "id",
            postgresql_where=text("state IN ('pending', 'claimed')"),
            sqlite_where=text("state IN ('pending', 'claimed')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    # What the work is about (a review id for follow-ups, a decision id for posts). With `key`
    # it makes the row's natural identity: scheduling the same thing twice is a no-op, not a
    # second reminder.
    subject_id: int
    key: str = Field(max_length=120)
    # Items of one lane (a channel, a thread, a DM) are delivered in order by a dispatcher;
    # None: no ordering constraint.
    lane: str | None = Field(default=None, max_length=120)
    # A coalesced item (one pending refresh per message) asked for again while in flight: on
    # completion it goes back to pending instead of done, so the newest state is delivered.
    rerun: bool = False
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default=WorkState.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    lease_owner: str | None = Field(default=None, max_length=255)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
