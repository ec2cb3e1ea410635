"""Outbox rows for `/estimate`: kinds, keys and lanes in one place.

Every reminder, automatic reveal, expiry and Slack side effect of a round is a row here,
scheduled in the transaction of the change it follows; keys make each happen once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from storage import decision_work, due_work, notices
from storage.decision_work import REFRESH_INTERVAL, channel_lane
from storage.decisions import get_decision_by_id
from storage.models import EstimateRound, JsonObject, saved_id, utcnow
from storage.notices import DmAbout

EXPIRE_AFTER = timedelta(days=14)


class EstimateWork(StrEnum):
    POST = "estimate.post"  # post the round in its channel (or thread)
    REFRESH = "estimate.refresh"  # chat.update the round's message (coalesced)
    COMPUTE = "estimate.compute"  # after a reveal: the combined figures, then what shows them
    DETAILS = "estimate.details"  # one thread message of everyone's ranges (payload: part)
    CHART = "estimate.chart"  # the PNG in the round's thread
    DEADLINE = "estimate.deadline"  # reveal at the deadline
    REMIND = "estimate.remind"  # before the deadline: DM the invited who have not estimated
    EXPIRE = "estimate.expire"  # 14 days without a reveal
    ASK_ACTUAL = "estimate.ask_actual"  # the 90% figure has passed: ask the facilitator


def _key(rnd: EstimateRound, *parts: object) -> str:
    return ":".join(["estimate", str(saved_id(rnd)), *map(str, parts)])


def _lane(rnd: EstimateRound) -> str:
    return channel_lane(rnd.channel_id)


def _once(
    session: Session,
    rnd: EstimateRound,
    kind: EstimateWork,
    part: str,
    *,
    due_at: datetime | None = None,
    payload: JsonObject | None = None,
    lane: str | None = None,
) -> bool:
    return due_work.schedule(
        session,
        team_id=rnd.team_id,
        kind=kind,
        subject_id=saved_id(rnd),
        key=_key(rnd, part),
        due_at=due_at or utcnow(),
        payload=payload,
        lane=lane,
    )


def refresh_decision(session: Session, *, rnd: EstimateRound) -> None:
    """The decision a round informs shows the round (and, once revealed, its range)."""
    if rnd.decision_id is not None:
        decision = get_decision_by_id(session, team_id=rnd.team_id, decision_id=rnd.decision_id)
        decision_work.schedule_refresh(session, decision=decision)


def schedule_new_round(session: Session, *, rnd: EstimateRound, now: datetime) -> None:
    """Post it; expire it after 14 days; with a deadline, reveal then and remind before."""
    _once(session, rnd, EstimateWork.POST, "post", lane=_lane(rnd))
    refresh_decision(session, rnd=rnd)
    expires = now + EXPIRE_AFTER
    if rnd.deadline_at is not None:  # a far deadline reveals first: expiry comes after it
        expires = max(expires, rnd.deadline_at + timedelta(days=1))
    _once(session, rnd, EstimateWork.EXPIRE, "expire", due_at=expires)
    if rnd.deadline_at is not None:
        _once(session, rnd, EstimateWork.DEADLINE, "deadline", due_at=rnd.deadline_at)
        # one reminder: a day before, or half-way there for a nearer deadline
        lead = min(timedelta(days=1), (rnd.deadline_at - now) / 2)
        _once(session, rnd, EstimateWork.REMIND, "remind", due_at=rnd.deadline_at - lead)


def schedule_refresh(session: Session, *, rnd: EstimateRound) -> None:
    due_work.schedule_coalesced(
        session,
        team_id=rnd.team_id,
        kind=EstimateWork.REFRESH,
        subject_id=saved_id(rnd),
        key=_key(rnd, "refresh"),
        now=utcnow(),
        min_interval=REFRESH_INTERVAL,
        lane=_lane(rnd),
    )


def schedule_compute(session: Session, *, rnd: EstimateRound) -> None:
    """After the reveal (the same transaction): compute, then show (once per round)."""
    _once(session, rnd, EstimateWork.COMPUTE, "compute")
    schedule_refresh(session, rnd=rnd)


def schedule_shown(session: Session, *, rnd: EstimateRound, parts: int, chart: bool) -> None:
    """What the computation leads to: the thread details (in order) and the chart."""
    for part in range(parts):
        _once(
            session,
            rnd,
            EstimateWork.DETAILS,
            f"details:{part}",
            payload={"part": part},
            lane=_lane(rnd),
        )
    if chart:
        _once(session, rnd, EstimateWork.CHART, "chart", lane=_lane(rnd))
    schedule_refresh(session, rnd=rnd)
    refresh_decision(session, rnd=rnd)


def schedule_ask_actual(session: Session, *, rnd: EstimateRound, due_at: datetime) -> None:
    _once(session, rnd, EstimateWork.ASK_ACTUAL, "ask-actual", due_at=due_at)


def schedule_dm(
    session: Session, *, rnd: EstimateRound, user_id: str, text: str, part: str, about: DmAbout
) -> bool:
    """``notices.schedule_dm`` about this round, once per ``part``."""
    return notices.schedule_dm(
        session,
        team_id=rnd.team_id,
        user_id=user_id,
        text=text,
        key=_key(rnd, "dm", part, user_id),
        subject_id=saved_id(rnd),
        about=about,
    )


def cancel_pending(session: Session, *, rnd: EstimateRound, kinds: tuple[EstimateWork, ...]) -> int:
    return due_work.cancel(
        session,
        team_id=rnd.team_id,
        kinds=tuple(str(k) for k in kinds),
        subject_ids=[saved_id(rnd)],
    )
