"""The digest's reviews: due in the week ahead, overdue, outcomes recorded in the week, and
the dissent record, in four statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Protocol

from sqlalchemy import Select, bindparam, case, func, select
from sqlmodel import Session, col

from storage import health
from storage.digest_common import (
    SHOWN,
    Listing,
    Order,
    Params,
    Where,
    _decision_covered,
    _first,
    _in,
)
from storage.models import Decision, Outcome, Review, ReviewState


@dataclass(frozen=True)
class ReviewLine:
    """A review round of decision ADR-``number``: when it is (was) due, and its outcome."""

    number: int
    title: str
    due_at: datetime
    outcome: str | None = None

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"


@dataclass(frozen=True)
class ReviewsPart:
    """``due``: reviews still scheduled with their due instant in the week ahead, soonest first.
    ``overdue``: reviews asked and not answered (open, or closed unanswered after the last
    nudge), due before ``end`` and within the quarter (older ones are not repeated every
    week), most overdue first. ``outcomes``: first outcomes recorded in the week, newest first,
    with ``outcome_counts`` over all of them. Dissent, over the quarter, as ``/adr stats``
    counts it (``storage.health.dissent_statement``): ``dissent_came_true`` of the
    ``dissent_decisions`` whose dissenters answered yes or no."""

    due: Listing[ReviewLine] = field(default_factory=Listing)
    overdue: Listing[ReviewLine] = field(default_factory=Listing)
    outcomes: Listing[ReviewLine] = field(default_factory=Listing)
    outcome_counts: dict[str, int] = field(default_factory=dict)
    dissent_decisions: int = 0
    dissent_came_true: int = 0

    @property
    def news(self) -> bool:
        return self.due.total > 0 or self.outcomes.total > 0

    @property
    def empty(self) -> bool:
        return not (self.news or self.overdue.total or self.dissent_decisions)


_REVIEW_LISTS: dict[str, tuple[tuple[Where, ...], tuple[Order, ...]]] = {
    # still scheduled, due in the week ahead; soonest first
    "due": (
        (
            col(Review.state) == ReviewState.SCHEDULED.value,
            _in(col(Review.due_at), "end", "ahead"),
        ),
        (col(Review.due_at), col(Review.id)),
    ),
    # asked, no outcome (open, or unanswered after the last nudge), due in the quarter
    "overdue": (
        (
            col(Review.state).in_([ReviewState.OPEN.value, ReviewState.UNANSWERED.value]),
            col(Review.outcome).is_(None),
            _in(col(Review.due_at), "since", "end"),
        ),
        (col(Review.due_at), col(Review.id)),
    ),
    # first outcomes recorded in the week; newest first
    "outcomes": (
        (col(Review.outcome).is_not(None), _in(col(Review.outcome_at), "start", "end")),
        (col(Review.outcome_at).desc(), col(Review.id).desc()),
    ),
}


@cache
def _review_statement(
    which: str, workspace: bool
) -> Select[int, str, datetime, str | None, int, *tuple[int, ...]]:
    where, order = _REVIEW_LISTS[which]
    return (
        select(
            col(Decision.number),
            col(Decision.title),
            col(Review.due_at),
            col(Review.outcome),
            func.count().over().label("total"),
            # per outcome, how many of all the rows (not only those shown) have it
            *(
                func.sum(case((col(Review.outcome) == o.value, 1), else_=0)).over().label(o.value)
                for o in Outcome
            ),
        )
        .join(Review, col(Review.decision_id) == col(Decision.id))
        .where(*_decision_covered(workspace), col(Review.team_id) == bindparam("team"), *where)
        .order_by(*order)
        .limit(SHOWN)
    )


class _ReviewRow(Protocol):
    """A row of ``_review_statement``, read by name."""

    number: int
    title: str
    due_at: datetime
    outcome: str | None
    total: int


def _review_listing(rows: Sequence[_ReviewRow]) -> Listing[ReviewLine]:
    return Listing(
        _first(rows), tuple(ReviewLine(int(r.number), r.title, r.due_at, r.outcome) for r in rows)
    )


def _reviews(session: Session, workspace: bool, params: Params) -> ReviewsPart:
    due, overdue, outcomes = (
        session.execute(_review_statement(which, workspace), params).all()
        for which in ("due", "overdue", "outcomes")
    )
    counts = {o.value: int(getattr(outcomes[0], o.value) or 0) for o in Outcome} if outcomes else {}
    decisions, came_true = session.execute(health.dissent_statement(workspace), params).one()
    return ReviewsPart(
        due=_review_listing(due),
        overdue=_review_listing(overdue),
        outcomes=_review_listing(outcomes),
        outcome_counts={k: v for k, v in counts.items() if v},
        dissent_decisions=int(decisions),
        dissent_came_true=int(came_true),
    )


__all__ = ["ReviewLine", "ReviewsPart"]
