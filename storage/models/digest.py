"""The weekly digest's subscriptions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts


class DigestScope(StrEnum):
    CHANNEL = "channel"  # what happened in this channel
    WORKSPACE = "workspace"  # every public channel of the workspace (never a shared channel)


class DigestSection(StrEnum):
    DECISIONS = "decisions"
    REVIEWS = "reviews"
    ESTIMATES = "estimates"
    PARKING = "parking"
    HEALTH = "health"


class DigestSubscription(SQLModel, table=True):
    """A channel's weekly digest (`/adr digest`): one per channel. Each week's digest is one
    outbox row keyed by (subscription, ISO week), so it is sent once."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_digest_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    enabled: bool = True
    # the bot could not post (removed from the channel, archived): configuring it again resumes
    paused_reason: str | None = Field(default=None, max_length=64)
    scope: str = Field(default=DigestScope.CHANNEL, max_length=16)
    weekday: int = 0  # Monday = 0
    hour: int = 9
    minute: int = 0
    timezone: str = Field(default="UTC", max_length=64)
    sections: str = Field(default=" ".join(DigestSection), max_length=200)  # space-separated
    quiet_line: bool = False  # a quiet week gets one line (else it is skipped)
    # where the last digest's week ended (sent or a skipped quiet week): the next one starts
    # there, so moving the weekday leaves no days out and shows none twice (migration 0012)
    covered_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    configured_by: str = Field(max_length=32)
    # our app's id, as the form's Submit carried it: the health line links to the App Home
    # with it (migration 0018; None until the digest is saved again)
    app_id: str | None = Field(default=None, max_length=32)
    configured_at: datetime = _ts()
    created_at: datetime = _ts()

    @property
    def section_list(self) -> list[str]:
        return self.sections.split()
