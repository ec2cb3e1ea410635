"""The digest's decisions: those recorded in the week, newest first, with their current
stances; proposed decisions past their decide-by date; and the week's reversals. Three
statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, bindparam, case, func, select
from sqlmodel import Session, col

from storage import health
from storage.digest_common import SHOWN, Listing, Order, Params, _decision_covered, _first, _in
from storage.models import Decision, DecisionStatus, Stance, StanceKind


@dataclass(frozen=True)
class DecisionLine:
    number: int
    title: str
    status: str
    agree: int = 0
    disagree_and_commit: int = 0
    block: int = 0

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"


@dataclass(frozen=True)
class DateLine:
    """A decision and a date: its decide-by date (stalled), or the day it was reversed."""

    number: int
    title: str
    status: str
    day: date

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"


@dataclass(frozen=True)
class DecisionsPart:
    """Decisions recorded (created) in the week, newest first, with their current stances:
    the order of `/adr list`, whose next page carries on where the digest stops.

    ``stalled``: decisions still proposed whose decide-by date is before the digest's local
    ``today``, longest overdue first (a standing figure, like overdue reviews). ``reversed``:
    decisions reversed in the week (``storage.health.reversal``: accepted, then superseded or
    deprecated within 90 days; ended in ``[start, end)``), newest first."""

    recorded: Listing[DecisionLine] = field(default_factory=Listing)
    stalled: Listing[DateLine] = field(default_factory=Listing)
    reversed: Listing[DateLine] = field(default_factory=Listing)

    @property
    def news(self) -> bool:
        return self.recorded.total > 0 or self.reversed.total > 0

    @property
    def empty(self) -> bool:
        return not (self.news or self.stalled.total)


@cache
def _decisions_statement(workspace: bool) -> Select[int, str, str, int, int, int, int]:
    newest = (
        select(
            col(Decision.id),
            col(Decision.number),
            col(Decision.title),
            col(Decision.status),
            func.count().over().label("total"),
        )
        .where(*_decision_covered(workspace), _in(col(Decision.created_at), "start", "end"))
        .order_by(col(Decision.number).desc())
        .limit(SHOWN)
        .subquery()
    )

    def tally(kind: StanceKind) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((col(Stance.kind) == kind.value, 1), else_=0)), 0)

    return (
        select(
            newest.c.number,
            newest.c.title,
            newest.c.status,
            newest.c.total,
            tally(StanceKind.AGREE),
            tally(StanceKind.DISAGREE_AND_COMMIT),
            tally(StanceKind.BLOCK),
        )
        .select_from(newest)
        # by decision only: the decisions are this team's already, and a team_id condition
        # here leads SQLite to read the team's every stance through ix_stances_user
        .outerjoin(Stance, col(Stance.decision_id) == newest.c.id)
        .group_by(newest.c.id, newest.c.number, newest.c.title, newest.c.status, newest.c.total)
        .order_by(newest.c.number.desc())
    )


@cache
def _dated_statement(which: str, workspace: bool) -> Select[int, str, str, date, int]:
    """``stalled`` (decide-by date passed, still proposed) or ``reversed`` (in the week)."""
    day: SQLColumnExpression[object]
    order: tuple[Order, ...]
    if which == "stalled":
        day = col(Decision.decide_by)
        where = [
            col(Decision.status) == DecisionStatus.PROPOSED.value,
            col(Decision.decide_by) < bindparam("today"),
        ]
        order = (col(Decision.decide_by).asc(), col(Decision.number).asc())
    else:
        day = func.date(col(Decision.closed_at))
        where = [health.reversal(), _in(col(Decision.closed_at), "start", "end")]
        order = (col(Decision.closed_at).desc(), col(Decision.number).desc())
    return (
        select(
            col(Decision.number),
            col(Decision.title),
            col(Decision.status),
            day.label("day"),
            func.count().over().label("total"),
        )
        .where(*_decision_covered(workspace), *where)
        .order_by(*order)
        .limit(SHOWN)
    )


def _day(value: date | str) -> date:
    # SQLite's date() gives text; Postgres a date
    return value if isinstance(value, date) else date.fromisoformat(value)


def _dated(session: Session, which: str, workspace: bool, params: Params) -> Listing[DateLine]:
    rows = session.execute(_dated_statement(which, workspace), params).all()
    return Listing(
        _first(rows),
        tuple(DateLine(int(n), title, status, _day(day)) for n, title, status, day, _t in rows),
    )


def _decisions(session: Session, workspace: bool, params: Params) -> DecisionsPart:
    rows = session.execute(_decisions_statement(workspace), params).all()
    lines = tuple(
        DecisionLine(int(n), title, status, int(a), int(d), int(b))
        for n, title, status, _total, a, d, b in rows
    )
    return DecisionsPart(
        Listing(_first(rows), lines),
        stalled=_dated(session, "stalled", workspace, params),
        reversed=_dated(session, "reversed", workspace, params),
    )


__all__ = ["DateLine", "DecisionLine", "DecisionsPart"]
