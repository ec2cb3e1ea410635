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
from storage.models import Decision, DissentAnswer, Outcome, Review, ReviewAsk, ReviewState
from storage.reviews import DISSENTER


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
    with ``outcome_counts`` over all of them. Dissent: the answers of people who disagreed
    and committed, given in the quarter: ``dissent_right`` "yes, the concern materialised"
    of ``dissent_answered`` yes + no; "too early to tell" is no verdict and is left out."""

    due: Listing[ReviewLine] = field(default_factory=Listing)
    overdue: Listing[ReviewLine] = field(default_factory=Listing)
    outcomes: Listing[ReviewLine] = field(default_factory=Listing)
    outcome_counts: dict[str, int] = field(default_factory=dict)
    dissent_right: int = 0
    dissent_answered: int = 0

    @property
    def news(self) -> bool:
        return self.due.total > 0 or self.outcomes.total > 0

    @property
    def empty(self) -> bool:
        return not (self.news or self.overdue.total or self.dissent_answered)


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


@cache
def _dissent_statement(workspace: bool) -> Select[str | None, int]:
    return (
        select(col(ReviewAsk.dissent_answer), func.count())
        .join(Review, col(Review.id) == col(ReviewAsk.review_id))
        .join(Decision, col(Decision.id) == col(Review.decision_id))
        # reviews and their asks are reached through this team's decisions (they carry the
        # decision's team); a team_id condition on them leads the planner to read every
        # review of the team instead of the covered decisions' few
        .where(
            *_decision_covered(workspace),
            col(ReviewAsk.role) == DISSENTER,
            col(ReviewAsk.dissent_answer).in_([DissentAnswer.YES.value, DissentAnswer.NO.value]),
            _in(col(ReviewAsk.answered_at), "since", "end"),
        )
        .group_by(col(ReviewAsk.dissent_answer))
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
    dissent = dict(session.execute(_dissent_statement(workspace), params).all())
    right = int(dissent.get(DissentAnswer.YES.value, 0))
    return ReviewsPart(
        due=_review_listing(due),
        overdue=_review_listing(overdue),
        outcomes=_review_listing(outcomes),
        outcome_counts={k: v for k, v in counts.items() if v},
        dissent_right=right,
        dissent_answered=right + int(dissent.get(DissentAnswer.NO.value, 0)),
    )


__all__ = ["ReviewLine", "ReviewsPart"]
