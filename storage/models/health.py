"""Decision health (issue 25): forecasts made at decision time and scored against the
decision's first review outcome, and the spans a Block held a decision.

A forecast is private to the person who made it until it is scored: nothing anyone else sees
(a message, another person's Home, the digest, an export) carries an unscored forecast.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts

# The probabilities a person may state that a decision meets its success criteria, in percent.
PROBABILITIES: tuple[int, ...] = (10, 25, 40, 50, 60, 75, 90, 95)


class Door(StrEnum):
    """Can the decision be undone cheaply (two-way) or not (one-way)?"""

    ONE_WAY = "one_way"
    TWO_WAY = "two_way"


class ForecastState(StrEnum):
    PENDING = "pending"  # waiting for the decision's first review outcome
    SCORED = "scored"  # outcome and Brier score set
    UNSCORED = "unscored"  # the decision was rejected or superseded before any outcome


class ForecastSource(StrEnum):
    DECISION_FORM = "decision"  # the author, in the decision form
    STANCE = "stance"  # in the Disagree or Block form
    ADDED = "added"  # "Add my forecast" (after an Agree, or from the App Home)
    IMPORT = "import"  # a scored forecast read back from an ADR file: nobody's


class Forecast(SQLModel, table=True):
    """One person's forecast on one decision (one row per person; changing it replaces it
    until it is scored). ``user_id`` is None only for a scored forecast imported from a file,
    which names nobody."""

    __tablename__ = "forecasts"
    __table_args__ = (
        UniqueConstraint("decision_id", "user_id", name="uq_forecasts_decision_user"),
        Index("ix_forecasts_team_user", "team_id", "user_id", "state"),
        Index("ix_forecasts_decision", "decision_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    user_id: str | None = Field(default=None, max_length=32)
    probability: int  # percent, one of PROBABILITIES (imports: 1..99)
    source: str = Field(default=ForecastSource.ADDED, max_length=16)
    state: str = Field(default=ForecastState.PENDING, max_length=16)
    outcome: float | None = None  # 1 worked, 0.5 partly, 0 didn't work
    brier: float | None = None  # (probability/100 - outcome) ** 2
    review_id: int | None = Field(default=None, foreign_key="reviews.id")
    scored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class BlockResolution(StrEnum):
    WITHDRAWN = "withdrawn"  # the blocker changed their stance
    OVERRIDDEN = "overridden"  # a decider accepted over it, with a note
    CLOSED = "closed"  # the decision was rejected, superseded or deprecated


class DecisionBlock(SQLModel, table=True):
    """How long a Block held a decision: placed when someone blocks, resolved when they
    change their stance, a decider overrides it, or the decision ends."""

    __tablename__ = "decision_blocks"
    __table_args__ = (
        Index("ix_decision_blocks_team_placed", "team_id", "placed_at"),
        Index("ix_decision_blocks_decision", "decision_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    user_id: str = Field(max_length=32)
    placed_at: datetime = _ts()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution: str | None = Field(default=None, max_length=16)


class HomeChart(SQLModel, table=True):
    """The calibration chart on a person's App Home: the file uploaded for it and what it
    drew (a fingerprint of the figures), so publishing the Home again reuses the file until
    the figures change instead of uploading a new one each time."""

    __tablename__ = "home_charts"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    fingerprint: str = Field(max_length=64)
    file_id: str = Field(max_length=32)
    updated_at: datetime = _ts()


__all__ = [
    "PROBABILITIES",
    "HomeChart",
    "BlockResolution",
    "DecisionBlock",
    "Door",
    "Forecast",
    "ForecastSource",
    "ForecastState",
]
