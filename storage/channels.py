"""What a channel is (private, shared with another organisation, archived), as Slack last
told us: channel events, and a `conversations.info` read when the bot posts there.

Visibility follows the channel in one direction only: when a channel becomes private, its
decisions, rounds and parked items become private, and a channel once private stays private
here (Slack cannot make a private channel public). A record is saved private; its first post
may relax that only if the channel's row, read under lock in the transaction that stores the
post's result, is not private (``privacy_after_post``): a channel made private while the post
was in flight wins, whichever transaction commits first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.models import Channel, Decision, EstimateRound, ParkingItem, utcnow


@dataclass(frozen=True)
class ChannelFacts:
    private: bool | None = None
    shared: bool | None = None
    archived: bool | None = None

    @classmethod
    def from_info(cls, info: Mapping[str, object]) -> ChannelFacts:
        """From a conversations.info `channel` object (only its flags are read)."""
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
    changes: dict[str, object] = {**known, "updated_at": now}
    if "is_private" in changes:  # never from private back to public
        changes["is_private"] = or_(col(Channel.is_private), stmt.excluded.is_private)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["team_id", "channel_id"], set_=changes)
        if known
        else stmt.on_conflict_do_nothing()
    )
    if not facts.private:
        return 0
    for follower in (EstimateRound, ParkingItem):  # rounds and parked items follow too
        session.execute(
            update(follower)
            .where(
                col(follower.team_id) == team_id,
                col(follower.channel_id) == channel_id,
                col(follower.channel_private).is_(False),
            )
            .values(channel_private=True, updated_at=now)
        )
    result = session.exec(
        update(Decision)
        .where(
            col(Decision.team_id) == team_id,
            col(Decision.channel_id) == channel_id,
            col(Decision.channel_private).is_(False),
        )
        .values(channel_private=True, updated_at=now)
    )
    return int(result.rowcount or 0)


def privacy_after_post(
    session: Session, *, team_id: str, channel_id: str, facts: ChannelFacts | None
) -> bool:
    """Record what the post's ``conversations.info`` read said, then whether the record just
    posted is private: the channel's row read under lock in this transaction (True when
    Slack could not say: the safe side)."""
    if facts is None:
        return True
    record(session, team_id=team_id, channel_id=channel_id, facts=facts)
    query = select(col(Channel.is_private)).where(
        col(Channel.team_id) == team_id, col(Channel.channel_id) == channel_id
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    private = session.scalars(query).one_or_none()
    return True if private is None else bool(private)


def get(session: Session, *, team_id: str, channel_id: str) -> Channel | None:
    return session.get(Channel, (team_id, channel_id))
