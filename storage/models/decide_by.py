"""Decide-by nudges (issue 26): where each nudge DM the bot sent landed, so a click on its
buttons is known to come from a DM the bot sent to that person."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.base import _ts


class DecideByNudge(SQLModel, table=True):
    """One decide-by DM sent: to a decider without a stance (the working day before, or a
    "Ping again") or to the author (on the day, with Accept / Extend / Ping again)."""

    __tablename__ = "decide_by_nudges"
    __table_args__ = (Index("ix_decide_by_nudges_message", "team_id", "channel_id", "message_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id", index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)  # "decider" or "author"
    decide_by: date
    channel_id: str = Field(max_length=32)  # where the DM landed
    message_ts: str = Field(max_length=32)
    created_at: datetime = _ts()
