"""Decide-by dates (issue 26): a proposed decision may say by when it should be decided.

Deciders without a stance get one DM the working day before, at 09:00 in their own time
zone; on the day, at 09:00 in the author's zone, the author is told who has not answered
(with Accept, Extend and Ping again). Every DM is an outbox row whose key names the decision,
the decide-by date and the person (``work_key``): scheduled twice, or by two processes, it is
one row and one DM. The instants are worked out by the caller (``bot.core.dates``, in the
person's zone); here: the rows, who is still waiting, where each DM landed, and cancelling.

What is checked when a row is delivered (``bot/features/decisions/work.py``): the decision
is still proposed and its decide-by date is still the row's; the person is still a decider
without a stance; their DMs are not off. A change of status cancels the pending rows
(``cancel_nudges``, from ``storage.decision_status.change_status`` and superseding); a new
date cancels them and plans new keys (moving back to a date already nudged sends nothing
twice: the rows sent are done, the cancelled ones come back).

This module reads decisions, members and stances itself (``storage.decisions`` calls it).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlmodel import Session, col

from storage import due_work, preferences
from storage.models import (
    DecideByNudge,
    Decision,
    DecisionEvent,
    DecisionMember,
    DecisionStatus,
    DueWork,
    Role,
    SlackUser,
    Stance,
    WorkspaceSettings,
    WorkState,
    saved_id,
    utcnow,
)

NUDGE_HOUR = 9  # 09:00 in the person's own zone
DECIDER, AUTHOR = "decider", "author"


class DecideByWork(StrEnum):
    """Kinds of outbox rows for decide-by dates; subject_id is always the decision id."""

    DECIDER = "decide_by.decider"  # one DM to one decider (payload: user, decide_by, ping)
    AUTHOR = "decide_by.author"  # the author's DM on the day (payload: user, decide_by)


KINDS = (DecideByWork.DECIDER, DecideByWork.AUTHOR)


def work_key(decision_id: int, day: date, *parts: object) -> str:
    """``decide-by:<decision id>:<date>:<part>:...`` (built only here, never parsed)."""
    return ":".join(["decide-by", str(decision_id), day.isoformat(), *map(str, parts)])


def working_day_before(day: date) -> date:
    """The working day (Monday to Friday) before ``day``: a Monday's is the Friday before."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def zone_of(session: Session, *, team_id: str, user_id: str) -> str:
    """The zone a person's nudge is planned in: theirs as the user cache knows it; for
    someone it does not know (or knows without a zone), the workspace's zone from
    `/adr settings`; without one, UTC."""
    row = session.get(SlackUser, (team_id, user_id))
    if row is not None and row.tz:
        return row.tz
    settings = session.get(WorkspaceSettings, team_id)
    if settings is not None and settings.timezone:
        return settings.timezone
    return "UTC"


def deciders(session: Session, *, decision: Decision) -> list[str]:
    return list(
        session.scalars(
            select(col(DecisionMember.user_id))
            .where(
                col(DecisionMember.team_id) == decision.team_id,
                col(DecisionMember.decision_id) == decision.id,
                col(DecisionMember.role) == Role.DECIDER,
            )
            .order_by(col(DecisionMember.id))
        )
    )


def waiting(session: Session, *, decision: Decision) -> list[str]:
    """The deciders who have not taken a stance, in the order they were named."""
    answered = set(
        session.scalars(
            select(col(Stance.user_id)).where(
                col(Stance.team_id) == decision.team_id, col(Stance.decision_id) == decision.id
            )
        )
    )
    return [u for u in deciders(session, decision=decision) if u not in answered]


def muted(session: Session, *, team_id: str, user_ids: list[str]) -> set[str]:
    """Who of these turned the bot's DMs off (`/adr dm off`): they are not nudged."""
    return preferences.muted(session, team_id=team_id, user_ids=user_ids)


def is_open(decision: Decision, day: date) -> bool:
    """Whether a nudge planned for ``day`` is still wanted: the decision is proposed and its
    decide-by date is still ``day``."""
    return decision.status == DecisionStatus.PROPOSED and decision.decide_by == day


def _schedule(
    session: Session,
    *,
    decision: Decision,
    kind: DecideByWork,
    key: str,
    due_at: datetime,
    user_id: str,
    ping: str = "",
) -> bool:
    """One row per key. A row cancelled by a change of date comes back when the date comes
    back (it was never sent); a row done stays done: nothing is sent twice."""
    assert decision.decide_by is not None
    payload = {"user": user_id, "decide_by": decision.decide_by.isoformat()}
    if ping:
        payload["ping"] = ping
    if due_work.schedule(
        session,
        team_id=decision.team_id,
        kind=kind,
        subject_id=saved_id(decision),
        key=key,
        due_at=due_at,
        payload=payload,
        lane=f"dm:{user_id}",
    ):
        return True
    revived = session.exec(
        update(DueWork)
        .where(
            col(DueWork.team_id) == decision.team_id,
            col(DueWork.key) == key,
            col(DueWork.state) == WorkState.CANCELLED,
        )
        .values(state=WorkState.PENDING, due_at=due_at, attempts=0, updated_at=utcnow())
    )
    if revived.rowcount:
        due_work.mark_written(session)
        return True
    return False


def schedule_decider_nudge(
    session: Session, *, decision: Decision, user_id: str, due_at: datetime
) -> bool:
    """The one DM to ``user_id`` (a decider) the working day before the decide-by date."""
    assert decision.decide_by is not None
    return _schedule(
        session,
        decision=decision,
        kind=DecideByWork.DECIDER,
        key=work_key(saved_id(decision), decision.decide_by, DECIDER, user_id),
        due_at=due_at,
        user_id=user_id,
    )


def schedule_author_notice(session: Session, *, decision: Decision, due_at: datetime) -> bool:
    """The author's DM on the decide-by date."""
    assert decision.decide_by is not None
    return _schedule(
        session,
        decision=decision,
        kind=DecideByWork.AUTHOR,
        key=work_key(saved_id(decision), decision.decide_by, AUTHOR, decision.author_id),
        due_at=due_at,
        user_id=decision.author_id,
    )


def ping_again(session: Session, *, decision: Decision, click: str) -> tuple[list[str], list[str]]:
    """ "Ping again": one DM now to each decider still without a stance whose DMs are on,
    once per click (``click``: the click's own id; Slack delivering it again adds nothing).
    Returns (pinged, muted)."""
    assert decision.decide_by is not None
    people = waiting(session, decision=decision)
    off = muted(session, team_id=decision.team_id, user_ids=people)
    pinged = [u for u in people if u not in off]
    for user in pinged:
        _schedule(
            session,
            decision=decision,
            kind=DecideByWork.DECIDER,
            key=work_key(saved_id(decision), decision.decide_by, "ping", click, user),
            due_at=utcnow(),
            user_id=user,
            ping=click,
        )
    return pinged, [u for u in people if u in off]


def cancel_nudges(session: Session, *, decision: Decision) -> int:
    """The decision was decided, withdrawn or superseded, or its date moved: its pending
    nudges are cancelled (a row already claimed checks again when it is delivered)."""
    if decision.id is None:
        return 0
    return due_work.cancel(
        session, team_id=decision.team_id, kinds=tuple(KINDS), subject_ids=[decision.id]
    )


def set_decide_by(session: Session, *, decision: Decision, day: date, actor_id: str) -> bool:
    """Move the decide-by date (**Extend**); the old date stays in the history. True if it
    changed (the caller replans)."""
    if decision.decide_by == day:
        return False
    session.add(
        DecisionEvent(
            team_id=decision.team_id,
            decision_id=saved_id(decision),
            actor_id=actor_id,
            kind="edited",
            detail=_changes(decision.decide_by, day),
        )
    )
    decision.decide_by = day
    decision.updated_at = utcnow()
    session.add(decision)
    session.flush()
    return True


def _changes(old: date | None, new: date) -> str:
    return json.dumps({"changes": {"decide_by": [old, new]}}, default=str)


def remember_nudge(
    session: Session,
    *,
    decision: Decision,
    user_id: str,
    role: str,
    day: date,
    channel_id: str,
    message_ts: str,
) -> None:
    """Where a nudge DM landed (so a click on it is known to come from a DM the bot sent)."""
    session.add(
        DecideByNudge(
            team_id=decision.team_id,
            decision_id=saved_id(decision),
            user_id=user_id,
            role=role,
            decide_by=day,
            channel_id=channel_id,
            message_ts=message_ts,
        )
    )


def nudge_of_message(
    session: Session, *, team_id: str, channel_id: str, message_ts: str
) -> DecideByNudge | None:
    """The nudge DM the bot sent at (``channel_id``, ``message_ts``), if it is one."""
    return session.scalars(
        select(DecideByNudge)
        .where(
            col(DecideByNudge.team_id) == team_id,
            col(DecideByNudge.channel_id) == channel_id,
            col(DecideByNudge.message_ts) == message_ts,
        )
        .limit(1)
    ).one_or_none()


def pending(session: Session, *, decision: Decision) -> list[DueWork]:
    """The decision's nudges not sent yet (soonest first)."""
    return list(
        session.scalars(
            select(DueWork)
            .where(
                col(DueWork.team_id) == decision.team_id,
                col(DueWork.kind).in_(KINDS),
                col(DueWork.subject_id) == decision.id,
                col(DueWork.state) == WorkState.PENDING,
            )
            .order_by(col(DueWork.due_at), col(DueWork.id))
        )
    )


__all__ = ["DecideByWork", "cancel_nudges", "ping_again", "set_decide_by", "work_key"]
