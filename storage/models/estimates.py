"""`/estimate`: blind ranged estimates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts


class EstimateUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    POINTS = "points"


class ConePhase(StrEnum):
    INITIAL = "initial"  # initial concept: 0.25x - 4x
    REQUIREMENTS = "requirements"  # requirements known: 0.67x - 1.5x
    DESIGN = "design"  # design done: 0.8x - 1.25x
    BUILDING = "building"  # building: 0.9x - 1.1x


class RoundState(StrEnum):
    OPEN = "open"
    REVEALED = "revealed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class RoundMode(StrEnum):
    RANGE = "range"  # best, likely and worst per task, with confidence and familiarity
    QUICK = "quick"  # one number (most likely) or a T-shirt size per task


class SizeScale(StrEnum):
    TIME = "time"  # sizes in days, converted to the round's hours, days or weeks
    POINTS = "points"


SIZES = ("S", "M", "L", "XL")


class Familiarity(StrEnum):
    DONE = "done"  # done it before: x1.0
    SIMILAR = "similar"  # x1.5
    NEW = "new"  # new to us: x2.5


class EstimateRound(SQLModel, table=True):
    """One `/estimate` round (E-n): estimates stay hidden until the reveal."""

    __tablename__ = "estimate_rounds"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_estimate_rounds_team_number"),
        Index("ix_estimate_rounds_team_state", "team_id", "state"),
        Index("ix_estimate_rounds_decision", "decision_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    topic: str = Field(max_length=200)
    unit: str = Field(default=EstimateUnit.DAYS, max_length=8)
    phase: str = Field(default=ConePhase.INITIAL, max_length=16)
    facilitator_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    channel_private: bool = True
    thread_ts: str | None = Field(default=None, max_length=32)  # a round started in a thread
    message_ts: str | None = Field(default=None, max_length=32)
    post_error: str | None = Field(default=None, max_length=200)
    state: str = Field(default=RoundState.OPEN, max_length=16)
    mode: str = Field(default=RoundMode.RANGE, max_length=8)
    # sha256 of the text and blocks last sent for the round's message: a refresh that would
    # send the same is skipped
    message_digest: str | None = Field(default=None, max_length=64)
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_id: int | None = Field(default=None, foreign_key="decisions.id")
    previous_round_id: int | None = Field(default=None, foreign_key="estimate_rounds.id")
    # At the reveal: the combined figures as computed then (JSON), so they never drift.
    result: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    revealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revealed_by: str | None = Field(default=None, max_length=32)  # None: automatically
    closed_note: str = Field(default="", max_length=200)
    actual: float | None = None  # in the round's unit
    actual_by: str | None = Field(default=None, max_length=32)
    actual_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()

    @property
    def ref(self) -> str:
        return f"E-{self.number}"


class EstimateTask(SQLModel, table=True):
    """A task of a round (a round without tasks has one, named after its topic)."""

    __tablename__ = "estimate_tasks"
    __table_args__ = (UniqueConstraint("round_id", "position", name="uq_estimate_tasks"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(foreign_key="estimate_rounds.id", index=True)
    position: int
    name: str = Field(max_length=200)


class EstimateInvite(SQLModel, table=True):
    """Someone invited to estimate (mentioned in the command)."""

    __tablename__ = "estimate_invites"

    round_id: int = Field(foreign_key="estimate_rounds.id", primary_key=True)
    user_id: str = Field(primary_key=True, max_length=32)
    team_id: str = Field(max_length=32)


class Estimate(SQLModel, table=True):
    """A person's estimate for a round: one row per person, replaced until the reveal."""

    __tablename__ = "estimates"
    __table_args__ = (UniqueConstraint("round_id", "user_id", name="uq_estimates_round_user"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(foreign_key="estimate_rounds.id", index=True)
    user_id: str = Field(max_length=32)
    # [[best, likely, worst], ...] per task, in the round's unit (JSON)
    ranges: str = Field(sa_column=Column(Text, nullable=False))
    confidence: int = 80  # % that the actual lands inside best..worst: 50, 80 or 90
    familiarity: str = Field(default=Familiarity.SIMILAR, max_length=16)
    assumptions: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # what the person typed, [[best, likely, worst], ...] per task ([[likely]] in a quick
    # round: a number as typed, or a size such as "M"), JSON; "" for estimates saved before
    # it was kept (they show the stored numbers)
    typed: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class EstimateSize(SQLModel, table=True):
    """A team's T-shirt size for quick rounds (`/estimate sizes`): its range, in days for the
    time scale, in points for the points scale. A size the team never set uses the default."""

    __tablename__ = "estimate_sizes"

    team_id: str = Field(primary_key=True, max_length=32)
    scale: str = Field(primary_key=True, max_length=8)
    size: str = Field(primary_key=True, max_length=4)
    best: float
    likely: float
    worst: float
    updated_by: str = Field(max_length=32)
    updated_at: datetime = _ts()


class EstimateEvent(SQLModel, table=True):
    """Append-only history of a round: created, estimated (no values), revealed, cancelled,
    expired, actual."""

    __tablename__ = "estimate_events"
    __table_args__ = (Index("ix_estimate_events_round", "round_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(foreign_key="estimate_rounds.id")
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _ts()
