"""A channel's weekly digest: its settings, and the one outbox row per week that sends it.

Each subscription has at most one live ``digest.send`` row, keyed by the subscription and the
ISO week of the instant it is due (in the subscription's time zone), so a week's digest is
sent once whatever the number of processes, retries or reconfigurations. The row that sends
a digest schedules the next one in the transaction that marks it done; after downtime only
that one row is due, so a missed week is sent once, late, and the chain carries on from the
next future instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, select
from sqlmodel import Session, col

from storage import due_work
from storage.decision_work import channel_lane
from storage.errors import NotFound
from storage.models import (
    DigestScope,
    DigestSection,
    DigestSubscription,
    DueWork,
    WorkState,
    utcnow,
)
from storage.notices import schedule_notice


class DigestWork(StrEnum):
    SEND = "digest.send"


# When a subscription's next digest is due after an instant (``bot.core.dates.next_weekly``
# with the subscription's weekday, time and zone): pure arithmetic the caller supplies.
Planner = Callable[[DigestSubscription, datetime], datetime]


ALL_SECTIONS: tuple[str, ...] = tuple(DigestSection)
INSTANT = "at"  # the payload key of a digest row's own instant


@dataclass(frozen=True)
class DigestConfig:
    """What the `/adr digest` modal sets (validated by the form)."""

    enabled: bool = True
    scope: str = DigestScope.CHANNEL
    weekday: int = 0  # Monday = 0
    hour: int = 9
    minute: int = 0
    timezone: str = "UTC"
    sections: tuple[str, ...] = ALL_SECTIONS
    quiet_line: bool = False

    @classmethod
    def of(cls, sub: DigestSubscription) -> DigestConfig:
        return cls(
            enabled=sub.enabled,
            scope=sub.scope,
            weekday=sub.weekday,
            hour=sub.hour,
            minute=sub.minute,
            timezone=sub.timezone,
            sections=tuple(sub.section_list),
            quiet_line=sub.quiet_line,
        )


def _saved_id(sub: DigestSubscription) -> int:
    """The id of a subscription read or flushed."""
    if sub.id is None:
        raise ValueError("the digest subscription is not saved yet: it has no id")
    return sub.id


def _of_channel(team_id: str, channel_id: str) -> Select[DigestSubscription]:
    return select(DigestSubscription).where(
        col(DigestSubscription.team_id) == team_id,
        col(DigestSubscription.channel_id) == channel_id,
    )


def get(session: Session, *, team_id: str, channel_id: str) -> DigestSubscription | None:
    return session.scalars(_of_channel(team_id, channel_id)).one_or_none()


def get_by_id(session: Session, *, team_id: str, subscription_id: int) -> DigestSubscription:
    sub = session.get(DigestSubscription, subscription_id)
    if sub is None or sub.team_id != team_id:
        raise NotFound("That digest no longer exists.")
    return sub


def _locked(session: Session, *, team_id: str, channel_id: str) -> DigestSubscription | None:
    return session.scalars(_of_channel(team_id, channel_id).with_for_update()).one_or_none()


def configure(
    session: Session,
    *,
    team_id: str,
    channel_id: str,
    config: DigestConfig,
    actor_id: str,
    plan: Planner,
    now: datetime | None = None,
    app_id: str | None = None,
) -> tuple[DigestSubscription, datetime | None]:
    """Save the channel's digest (creating it), resume it if it was paused, and plan its next
    digest. Returns the subscription and when the next digest is due (None when off).
    ``app_id``: our app's id as the request carried it (the health line's App Home link)."""
    now = now or utcnow()
    sub = _locked(session, team_id=team_id, channel_id=channel_id)
    if sub is None:
        sub = DigestSubscription(team_id=team_id, channel_id=channel_id, configured_by=actor_id)
    if app_id:
        sub.app_id = app_id
    if not (sub.enabled and not sub.paused_reason and config.enabled):
        # started, stopped or resumed: its next digest covers the week before it, not
        # everything since the digest last ran
        sub.covered_until = None
    sub.enabled = config.enabled
    sub.scope = config.scope
    sub.weekday, sub.hour, sub.minute = config.weekday, config.hour, config.minute
    sub.timezone = config.timezone
    sub.sections = " ".join(s for s in ALL_SECTIONS if s in config.sections)
    sub.quiet_line = config.quiet_line
    sub.paused_reason = None
    sub.configured_by = actor_id
    sub.configured_at = now
    session.add(sub)
    session.flush()
    _cancel_pending(session, sub)
    due = schedule_next(session, sub=sub, after=now, plan=plan) if sub.enabled else None
    return sub, due


def set_enabled(
    session: Session,
    *,
    team_id: str,
    channel_id: str,
    enabled: bool,
    actor_id: str,
    plan: Planner,
) -> tuple[DigestSubscription | None, datetime | None]:
    """`/adr digest off` / `on`: keeps the settings; `on` also resumes a paused digest."""
    sub = get(session, team_id=team_id, channel_id=channel_id)
    if sub is None:
        return None, None
    return configure(  # locks the row
        session,
        team_id=team_id,
        channel_id=channel_id,
        config=replace(DigestConfig.of(sub), enabled=enabled),
        actor_id=actor_id,
        plan=plan,
    )


def _cancel_pending(session: Session, sub: DigestSubscription) -> None:
    due_work.cancel(
        session,
        team_id=sub.team_id,
        kinds=(DigestWork.SEND,),
        subject_ids=[_saved_id(sub)],
    )


def instant_of(item: DueWork) -> datetime:
    """When the row's digest was due: kept in its payload, because a retry or a rate limit
    moves ``due_at`` and the digest's week must not move with it."""
    raw = json.loads(item.payload or "{}").get(INSTANT)
    return datetime.fromisoformat(raw) if raw else item.due_at


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # validated when saved; a tz database may shrink
        return ZoneInfo("UTC")


def week_key(sub: DigestSubscription, due_at: datetime) -> str:
    """The row's key: the subscription and the ISO week (in its zone) the digest is due in."""
    year, week, _ = due_at.astimezone(_zone(sub.timezone)).isocalendar()
    return f"digest:{sub.id}:{year}-W{week:02d}"


def schedule_next(
    session: Session, *, sub: DigestSubscription, after: datetime, plan: Planner
) -> datetime:
    """Plan the first digest instant after ``after`` whose week has not had its digest: a
    week whose row is done, failed or in flight is skipped; a cancelled row (the settings
    changed within the week) is planned again at the new instant."""
    while True:
        due_at = plan(sub, after)
        key = week_key(sub, due_at)
        row = session.scalars(
            select(DueWork).where(col(DueWork.team_id) == sub.team_id, col(DueWork.key) == key)
        ).one_or_none()
        if row is None:
            due_work.schedule(
                session,
                team_id=sub.team_id,
                kind=DigestWork.SEND,
                subject_id=_saved_id(sub),
                key=key,
                due_at=due_at,
                payload={INSTANT: due_at.isoformat()},
                lane=channel_lane(sub.channel_id),
            )
            return due_at
        if row.state in (WorkState.PENDING, WorkState.CANCELLED):
            row.state = WorkState.PENDING
            row.due_at = due_at
            row.payload = json.dumps({INSTANT: due_at.isoformat()})
            row.attempts = 0
            row.last_error = None
            row.updated_at = utcnow()
            session.add(row)
            session.flush()
            return due_at
        after = due_at


def week_start(sub: DigestSubscription, due: datetime, week_before: datetime) -> datetime:
    """Where the digest due at ``due`` starts: where the last one's week ended, if it ended
    before ``due`` (the weekday or time may have moved since); else ``week_before``, the
    same wall time a week earlier."""
    covered = sub.covered_until
    return covered if covered is not None and covered < due else week_before


def mark_covered(session: Session, *, subscription_id: int, until: datetime) -> None:
    """A digest covered everything up to ``until`` (or a quiet week was skipped, or a week
    Slack refused for good was given up)."""
    sub = session.get(DigestSubscription, subscription_id)
    if sub is not None:
        sub.covered_until = until
        session.add(sub)


def pause(session: Session, *, sub: DigestSubscription, reason: str, text: str) -> None:
    """The bot cannot post there (removed from the channel, archived, now shared): stop the
    chain and tell the person who set it up, by DM, how to resume it."""
    current = session.get(DigestSubscription, sub.id)
    if current is None or current.paused_reason:
        return
    current.paused_reason = reason[:64]
    session.add(current)
    _cancel_pending(session, current)
    schedule_notice(session, team_id=current.team_id, user_id=current.configured_by, text=text)
