"""The parking lot: scope requests parked where they were made, scored, and decided.

Every function runs in the caller's unit of work; Slack work that follows a change is
scheduled in the same transaction (`storage/parking_work.py`). Every transition is recorded
in `parking_events` with its actor and time. The scope-creep watch is `storage/parking_watch.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, nulls_last, select
from sqlmodel import Session, col

from storage import rules
from storage.decisions import get_decision
from storage.errors import Conflict, InvalidInput, NotAllowed, NotFound
from storage.estimates import get_round
from storage.models import (
    ParkingEvent,
    ParkingItem,
    ParkingState,
    utcnow,
)
from storage.numbers import next_number
from storage.visibility import Viewer, channel_visibility, numbered

COUNTER = "parking"

# what each state may become, by hand
TRANSITIONS: dict[str, frozenset[str]] = {
    ParkingState.PARKED: frozenset(
        {
            ParkingState.ACCEPTED,
            ParkingState.DEFERRED,
            ParkingState.DECLINED,
            ParkingState.DONE,
            ParkingState.WITHDRAWN,
        }
    ),
    ParkingState.DEFERRED: frozenset(
        {
            ParkingState.ACCEPTED,
            ParkingState.DEFERRED,
            ParkingState.DECLINED,
            ParkingState.DONE,
            ParkingState.WITHDRAWN,
        }
    ),
    ParkingState.ACCEPTED: frozenset({ParkingState.DONE, ParkingState.WITHDRAWN}),
}


@dataclass(frozen=True)
class Scores:
    reach: float | None = None
    impact: float | None = None
    confidence: int | None = None
    effort: float | None = None
    moscow: str | None = None

    @property
    def rice(self) -> float | None:
        return rules.rice(self.reach, self.impact, self.confidence, self.effort)


def saved_id(item: ParkingItem) -> int:
    """The id of an item read or flushed (every item the rest of the app holds)."""
    if item.id is None:
        raise ValueError(f"{item.ref} is not saved yet: it has no id")
    return item.id


def record(
    session: Session, item: ParkingItem, *, actor_id: str | None, kind: str, **detail: object
) -> None:
    session.add(
        ParkingEvent(
            team_id=item.team_id,
            item_id=saved_id(item),
            actor_id=actor_id,
            kind=kind,
            detail=json.dumps(detail, default=str, ensure_ascii=False),
        )
    )


def create_item(
    session: Session,
    *,
    team_id: str,
    parked_by: str,
    request: str,
    requester_id: str | None,
    why: str,
    channel_id: str,
    thread_ts: str | None,
    scores: Scores,
    decision_number: int | None,
    round_number: int | None,
    viewer: Viewer,
) -> ParkingItem:
    if not request.strip():
        raise InvalidInput("What is being asked for? The request can't be empty.")
    decision_id = round_id = None
    if decision_number is not None:
        decision_id = get_decision(
            session, team_id=team_id, number=decision_number, viewer=viewer
        ).id
    if round_number is not None:
        round_id = get_round(session, team_id=team_id, number=round_number, viewer=viewer).id
    item = ParkingItem(
        team_id=team_id,
        number=next_number(session, team_id=team_id, kind=COUNTER),
        request=request.strip()[:3000],
        requester_id=requester_id,
        why=why.strip()[:3000],
        parked_by=parked_by,
        channel_id=channel_id,
        channel_private=True,
        thread_ts=thread_ts,
        decision_id=decision_id,
        round_id=round_id,
        reach=scores.reach,
        impact=scores.impact,
        confidence=scores.confidence,
        effort=scores.effort,
        rice=scores.rice,
        moscow=scores.moscow,
    )
    session.add(item)
    session.flush()
    record(session, item, actor_id=parked_by, kind="parked")
    return item


# -- reading --------------------------------------------------------------------------------


def _visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """As decisions (``channel_visibility``); named: the requester and who parked it."""
    visible: ColumnElement[bool] = channel_visibility(
        viewer,
        channel=col(ParkingItem.channel_id),
        private=col(ParkingItem.channel_private),
        named=[
            col(ParkingItem.requester_id) == viewer.user_id,
            col(ParkingItem.parked_by) == viewer.user_id,
        ],
    )
    return visible


def get_item(
    session: Session,
    *,
    team_id: str,
    number: int,
    viewer: Viewer | None = None,
    for_update: bool = False,
) -> ParkingItem:
    item: ParkingItem = numbered(
        session,
        ParkingItem,
        team_id=team_id,
        number=number,
        visible=_visible_to(viewer) if viewer is not None else None,
        for_update=for_update,
        ref=f"P-{number}",
    )
    return item


def get_item_by_id(session: Session, *, team_id: str, item_id: int) -> ParkingItem:
    found = session.scalars(
        select(ParkingItem).where(
            col(ParkingItem.team_id) == team_id, col(ParkingItem.id) == item_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"That parking-lot item (#{item_id}) no longer exists.")
    return found


def list_items(
    session: Session,
    *,
    team_id: str,
    viewer: Viewer,
    state: str | None,
    sort: str = "rice",
    limit: int = 25,
) -> list[ParkingItem]:
    """By RICE (highest first; unscored after every scored item, oldest first among them)
    or by age (oldest first); ``state`` None: every state."""
    stmt = select(ParkingItem).where(col(ParkingItem.team_id) == team_id, _visible_to(viewer))
    if state is not None:
        stmt = stmt.where(col(ParkingItem.state) == state)
    if sort == "age":
        stmt = stmt.order_by(col(ParkingItem.created_at), col(ParkingItem.number))
    else:
        stmt = stmt.order_by(
            nulls_last(col(ParkingItem.rice).desc()),
            col(ParkingItem.created_at),
            col(ParkingItem.number),
        )
    return list(session.scalars(stmt.limit(limit)))


def history(session: Session, item: ParkingItem) -> list[ParkingEvent]:
    return list(
        session.scalars(
            select(ParkingEvent)
            .where(col(ParkingEvent.item_id) == item.id)
            .order_by(col(ParkingEvent.id))
        )
    )


def waiting_long(
    session: Session, *, team_id: str, viewer: Viewer, now: datetime
) -> list[ParkingItem]:
    """Parked more than 30 days with no decision (App Home, the digest)."""
    return list(
        session.scalars(
            select(ParkingItem)
            .where(
                col(ParkingItem.team_id) == team_id,
                col(ParkingItem.state) == ParkingState.PARKED,
                col(ParkingItem.created_at) < now - rules.WAITING_LONG,
                _visible_to(viewer),
            )
            .order_by(col(ParkingItem.created_at))
            .limit(10)
        )
    )


def waiting_for_triage(session: Session, *, team_id: str, viewer: Viewer) -> list[ParkingItem]:
    return list_items(
        session, team_id=team_id, viewer=viewer, state=ParkingState.PARKED, sort="age", limit=10
    )


def top_by_rice(session: Session, *, team_id: str, viewer: Viewer) -> list[ParkingItem]:
    return [
        i
        for i in list_items(
            session, team_id=team_id, viewer=viewer, state=ParkingState.PARKED, limit=5
        )
        if i.rice is not None
    ]


# -- who may act, and changing ---------------------------------------------------------------


def may_act(item: ParkingItem, *, user_id: str, channel_id: str | None, admin: bool) -> bool:
    """Anyone acting from the item's channel, its requester, and workspace admins."""
    return (
        admin
        or user_id == item.requester_id
        or (channel_id is not None and channel_id == item.channel_id)
    )


def require_may_act(
    item: ParkingItem, *, user_id: str, channel_id: str | None, admin: bool
) -> None:
    if not may_act(item, user_id=user_id, channel_id=channel_id, admin=admin):
        raise NotAllowed(
            f"{item.ref} belongs to <#{item.channel_id}>: act on it from there (or ask its "
            "requester or a workspace admin)."
        )


def score(session: Session, *, item: ParkingItem, actor_id: str, scores: Scores) -> None:
    item.reach, item.impact, item.confidence, item.effort = (
        scores.reach,
        scores.impact,
        scores.confidence,
        scores.effort,
    )
    item.moscow = scores.moscow
    item.rice = scores.rice
    item.updated_at = utcnow()
    session.add(item)
    record(
        session,
        item,
        actor_id=actor_id,
        kind="scored",
        reach=scores.reach,
        impact=scores.impact,
        confidence=scores.confidence,
        effort=scores.effort,
        moscow=scores.moscow,
        rice=scores.rice,
    )


def transition(
    session: Session,
    *,
    item: ParkingItem,
    actor_id: str | None,
    to: ParkingState,
    reason: str = "",
    timeline_days: float | None = None,
    deferred_until: date | None = None,
    decision_id: int | None = None,
    round_id: int | None = None,
) -> None:
    """Move an item (by hand: ``TRANSITIONS``); recorded with actor and time."""
    allowed = TRANSITIONS.get(item.state, frozenset())
    if to not in allowed:
        raise Conflict(f"{item.ref} is {item.state}; it can't become {to} now.")
    if to == ParkingState.WITHDRAWN and actor_id != item.requester_id:
        raise NotAllowed(f"Only the person who asked for {item.ref} can withdraw it.")
    if to == ParkingState.DEFERRED and deferred_until is None:
        # deferred means "back on that day": without one it would never come back
        raise InvalidInput(f"Pick the day {item.ref} should come back.")
    now = utcnow()
    before = item.state
    item.state = to
    item.decided_by = actor_id
    item.decided_at = now
    item.updated_at = now
    if to == ParkingState.ACCEPTED:
        item.timeline_days = timeline_days
        item.decision_id = decision_id or item.decision_id
        item.round_id = round_id or item.round_id
    if to == ParkingState.DEFERRED:
        item.deferred_until = deferred_until
    if to == ParkingState.DECLINED:
        item.reason = reason[:1000]
    session.add(item)
    record(
        session,
        item,
        actor_id=actor_id,
        kind=str(to),
        before=before,
        reason=reason[:1000] or None,
        timeline_days=timeline_days,
        deferred_until=deferred_until,
    )


def resurface(session: Session, *, item: ParkingItem, today: date) -> bool:
    """A deferred item whose date came: parked again (automatically, once)."""
    if (
        item.state != ParkingState.DEFERRED
        or item.deferred_until is None
        or item.deferred_until > today
    ):
        return False
    item.state = ParkingState.PARKED
    item.updated_at = utcnow()
    session.add(item)
    record(session, item, actor_id=None, kind="resurfaced", deferred_until=item.deferred_until)
    return True


def set_post_result(session: Session, *, item: ParkingItem, private: bool | None) -> None:
    if private is not None:
        item.channel_private = private
        session.add(item)


def count_items(session: Session, *, team_id: str) -> int:
    return session.scalars(
        select(func.count()).select_from(ParkingItem).where(col(ParkingItem.team_id) == team_id)
    ).one()
