"""The digest's decisions: those recorded in the week, newest first, with their current
stances, in one statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlmodel import Session, col

from storage.digest_common import SHOWN, Listing, Params, _decision_covered, _first, _in
from storage.models import Decision, Stance, StanceKind


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
class DecisionsPart:
    """Decisions recorded (created) in the week, newest first, with their current stances:
    the order of `/adr list`, whose next page carries on where the digest stops."""

    recorded: Listing[DecisionLine] = field(default_factory=Listing)

    @property
    def news(self) -> bool:
        return self.recorded.total > 0

    @property
    def empty(self) -> bool:
        return not self.news


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


def _decisions(session: Session, workspace: bool, params: Params) -> DecisionsPart:
    rows = session.execute(_decisions_statement(workspace), params).all()
    lines = tuple(
        DecisionLine(int(n), title, status, int(a), int(d), int(b))
        for n, title, status, _total, a, d, b in rows
    )
    return DecisionsPart(Listing(_first(rows), lines))


__all__ = ["DecisionLine", "DecisionsPart"]
