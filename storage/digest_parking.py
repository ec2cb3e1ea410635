"""The digest's parking lot: items parked in the week, the top parked items by RICE, items
coming back, and items accepted in the week with the scope they added, in four statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from storage.digest_common import SHOWN, Listing, Params, _covers, _first, _in
from storage.models import ParkingEvent, ParkingItem, ParkingState

TOP_BY_RICE = 5


@dataclass(frozen=True)
class ItemLine:
    number: int
    request: str
    state: str
    rice: float | None = None
    timeline_days: float | None = None
    deferred_until: date | None = None
    resurfaced: bool = False  # came back (parked again) during the week

    @property
    def ref(self) -> str:
        return f"P-{self.number}"


@dataclass(frozen=True)
class ParkingPart:
    """``new``: items parked in the week (newest first). ``top``: parked, scored items by RICE
    (as `/parkinglot list`; its total counts every parked scored item). ``returning``:
    deferred items due back in the week ahead (by ``deferred_until``) and items that came
    back during the week. ``accepted``: items accepted in the week (by their ``accepted``
    event, whatever happened to them since), with ``scope_added_days`` the sum of their
    timeline impact in working days."""

    new: Listing[ItemLine] = field(default_factory=Listing)
    top: Listing[ItemLine] = field(default_factory=Listing)
    returning: Listing[ItemLine] = field(default_factory=Listing)
    accepted: Listing[ItemLine] = field(default_factory=Listing)
    scope_added_days: float = 0.0

    @property
    def news(self) -> bool:
        return bool(self.new.total or self.returning.total or self.accepted.total)

    @property
    def empty(self) -> bool:
        return not (self.news or self.top.total)


_ITEM_COLUMNS = (
    ParkingItem.number,
    ParkingItem.request,
    ParkingItem.state,
    ParkingItem.rice,
    ParkingItem.timeline_days,
    ParkingItem.deferred_until,
)
_ITEM_LISTS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], int]] = {
    "new": ((_in(ParkingItem.created_at, "start", "end"),), (ParkingItem.number.desc(),), SHOWN),
    # the order of `/parkinglot list` (storage.parking.list_items), scored items only
    "top": (
        (ParkingItem.state == ParkingState.PARKED.value, ParkingItem.rice.is_not(None)),  # type: ignore[union-attr]
        (ParkingItem.rice.desc(), ParkingItem.created_at, ParkingItem.number),  # type: ignore[union-attr]
        TOP_BY_RICE,
    ),
    # deferred, due back in the week ahead
    "deferred": (
        (
            ParkingItem.state == ParkingState.DEFERRED.value,
            _in(ParkingItem.deferred_until, "today", "today_ahead"),
        ),
        (ParkingItem.deferred_until, ParkingItem.number),
        SHOWN,
    ),
}
_BACK = "resurfaced"  # storage.parking.resurface's event


@cache
def _item_statement(which: str, workspace: bool) -> Any:
    where, order, limit = _ITEM_LISTS[which]
    return (
        select(*_ITEM_COLUMNS, func.count().over().label("total"))
        .where(
            ParkingItem.team_id == bindparam("team"),
            _covers(workspace, ParkingItem.channel_id, ParkingItem.channel_private),
            *where,
        )
        .order_by(*order)
        .limit(limit)
    )


@cache
def _item_events_statement(workspace: bool) -> Any:
    """Accepted and resurfaced in the week, by their events (an item accepted on Monday and
    done on Friday was still accepted this week): per kind the newest SHOWN, the count and
    the timeline impact's sum."""
    ranked = (
        select(
            ParkingEvent.kind,
            *_ITEM_COLUMNS,
            func.row_number()
            .over(partition_by=ParkingEvent.kind, order_by=ParkingEvent.id.desc())  # type: ignore[union-attr]
            .label("position"),
            func.count().over(partition_by=ParkingEvent.kind).label("total"),
            func.sum(ParkingItem.timeline_days).over(partition_by=ParkingEvent.kind).label("days"),
        )
        .join(ParkingItem, ParkingItem.id == ParkingEvent.item_id)
        .where(
            ParkingItem.team_id == bindparam("team"),
            ParkingEvent.team_id == bindparam("team"),
            _covers(workspace, ParkingItem.channel_id, ParkingItem.channel_private),
            ParkingEvent.kind.in_([ParkingState.ACCEPTED.value, _BACK]),
            _in(ParkingEvent.created_at, "start", "end"),
        )
        .subquery()
    )
    return (
        select(ranked).where(ranked.c.position <= SHOWN).order_by(ranked.c.kind, ranked.c.position)
    )


def _item(row: Any, *, resurfaced: bool = False) -> ItemLine:
    return ItemLine(
        int(row.number),
        row.request,
        row.state,
        row.rice,
        row.timeline_days,
        row.deferred_until,
        resurfaced,
    )


def _parking(session: Session, workspace: bool, params: Params) -> ParkingPart:
    new, top, deferred = (
        session.execute(_item_statement(which, workspace), params).all()
        for which in ("new", "top", "deferred")
    )
    events = session.execute(_item_events_statement(workspace), params).all()
    accepted = [e for e in events if e.kind == ParkingState.ACCEPTED]
    back = [e for e in events if e.kind == _BACK]
    returning = [_item(r) for r in deferred] + [_item(e, resurfaced=True) for e in back]
    return ParkingPart(
        new=Listing(_first(new), tuple(_item(r) for r in new)),
        top=Listing(_first(top), tuple(_item(r) for r in top)),
        returning=Listing(_first(deferred) + _first(back), tuple(returning[:SHOWN])),
        accepted=Listing(_first(accepted), tuple(_item(e) for e in accepted)),
        scope_added_days=float(accepted[0].days or 0) if accepted else 0.0,
    )


__all__ = ["ItemLine", "ParkingPart"]
