"""What a channel is (private, shared with another organisation, archived), as Slack last
told us: channel events, and a `conversations.info` read when the bot posts there.

Visibility follows the channel in one direction only: when a channel becomes private, its
decisions become private; nothing once private becomes public by itself (a decision's
``channel_private`` is relaxed only by its own first post, which reads the channel fresh).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import Channel, Decision, EstimateRound, ParkingItem, utcnow


@dataclass(frozen=True)
class ChannelFacts:
    private: bool | None = None
    shared: bool | None = None
    archived: bool | None = None

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> ChannelFacts:
        """From a conversations.info `channel` object."""
        return cls(
            private=bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim")),
            shared=bool(info.get("is_ext_shared") or info.get("is_shared")),
            archived=bool(info.get("is_archived")),
        )


def record(session: Session, *, team_id: str, channel_id: str, facts: ChannelFacts) -> int:
    """Store what we learned (None: unchanged); returns how many decisions became private
    (estimate rounds in the channel follow too)."""
    known = {
        name: value
        for name, value in (
            ("is_private", facts.private),
            ("is_shared", facts.shared),
            ("is_archived", facts.archived),
        )
        if value is not None
    }
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Channel).values(team_id=team_id, channel_id=channel_id, updated_at=now, **known)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "channel_id"], set_={**known, "updated_at": now}
        )
        if known
        else stmt.on_conflict_do_nothing()
    )
    if not facts.private:
        return 0
    for follower in (EstimateRound, ParkingItem):  # rounds and parked items follow too
        session.execute(
            update(follower)
            .where(
                follower.team_id == team_id,
                follower.channel_id == channel_id,
                follower.channel_private.is_(False),
            )
            .values(channel_private=True, updated_at=now)
        )
    result = session.execute(
        update(Decision)
        .where(
            Decision.team_id == team_id,
            Decision.channel_id == channel_id,
            Decision.channel_private.is_(False),
        )
        .values(channel_private=True, updated_at=now)
    )
    return int(result.rowcount or 0)


def get(session: Session, *, team_id: str, channel_id: str) -> Channel | None:
    return session.get(Channel, (team_id, channel_id))
