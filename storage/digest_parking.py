"""The digest's parking lot: items parked in the week, the top parked items by RICE, items
coming back, and items accepted in the week with the scope they added, in four statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Protocol

from sqlalchemy import Select, bindparam, func, select
from sqlmodel import Session, col

from storage.digest_common import SHOWN, Listing, Order, Params, Where, _covers, _first, _in
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
    col(ParkingItem.number),
    col(ParkingItem.request),
    col(ParkingItem.state),
    col(ParkingItem.rice),
    col(ParkingItem.timeline_days),
    col(ParkingItem.deferred_until),
)
_ITEM_LISTS: dict[str, tuple[tuple[Where, ...], tuple[Order, ...], int]] = {
    "new": (
        (_in(col(ParkingItem.created_at), "start", "end"),),
        (col(ParkingItem.number).desc(),),
        SHOWN,
    ),
    # the order of `/parkinglot list` (storage.parking.list_items), scored items only
    "top": (
        (col(ParkingItem.state) == ParkingState.PARKED.value, col(ParkingItem.rice).is_not(None)),
        (col(ParkingItem.rice).desc(), col(ParkingItem.created_at), col(ParkingItem.number)),
        TOP_BY_RICE,
    ),
    # deferred, due back in the week ahead
    "deferred": (
        (
            col(ParkingItem.state) == ParkingState.DEFERRED.value,
            _in(col(ParkingItem.deferred_until), "today", "today_ahead"),
        ),
        (col(ParkingItem.deferred_until), col(ParkingItem.number)),
        SHOWN,
    ),
}
_BACK = "resurfaced"  # storage.parking.resurface's event


@cache
def _item_statement(
    which: str, workspace: bool
) -> Select[int, str, str, float | None, float | None, date | None, int]:
    where, order, limit = _ITEM_LISTS[which]
    return (
        select(*_ITEM_COLUMNS, func.count().over().label("total"))
        .where(
            col(ParkingItem.team_id) == bindparam("team"),
            _covers(workspace, col(ParkingItem.channel_id), col(ParkingItem.channel_private)),
            *where,
        )
        .order_by(*order)
        .limit(limit)
    )


@cache
def _item_events_statement(
    workspace: bool,
) -> Select[str, int, str, str, float | None, float | None, date | None, int, int, float | None]:
    """Accepted and resurfaced in the week, by their events (an item accepted on Monday and
    done on Friday was still accepted this week): per kind the newest SHOWN, the count and
    the timeline impact's sum."""
    kind = col(ParkingEvent.kind)
    ranked = (
        select(
            kind,
            *_ITEM_COLUMNS,
            func.row_number()
            .over(partition_by=kind, order_by=col(ParkingEvent.id).desc())
            .label("position"),
            func.count().over(partition_by=kind).label("total"),
            func.sum(col(ParkingItem.timeline_days)).over(partition_by=kind).label("days"),
        )
        .join(ParkingItem, col(ParkingItem.id) == col(ParkingEvent.item_id))
        .where(
            col(ParkingItem.team_id) == bindparam("team"),
            col(ParkingEvent.team_id) == bindparam("team"),
            _covers(workspace, col(ParkingItem.channel_id), col(ParkingItem.channel_private)),
            kind.in_([ParkingState.ACCEPTED.value, _BACK]),
            _in(col(ParkingEvent.created_at), "start", "end"),
        )
        .subquery()
    )
    return (
        select(ranked).where(ranked.c.position <= SHOWN).order_by(ranked.c.kind, ranked.c.position)
    )


class _ItemRow(Protocol):
    """A row of ``_item_statement`` or ``_item_events_statement``, read by name."""

    number: int
    request: str
    state: str
    rice: float | None
    timeline_days: float | None
    deferred_until: date | None
    total: int


def _item(row: _ItemRow, *, resurfaced: bool = False) -> ItemLine:
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
