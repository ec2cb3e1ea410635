"""The digest's reviews: due in the week ahead, overdue, outcomes recorded in the week, and
the dissent record, in four statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlmodel import Session

from storage.digest_common import SHOWN, Listing, Params, _decision_covered, _first, _in
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


_REVIEW_LISTS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    # still scheduled, due in the week ahead; soonest first
    "due": (
        (Review.state == ReviewState.SCHEDULED.value, _in(Review.due_at, "end", "ahead")),
        (Review.due_at, Review.id),
    ),
    # asked, no outcome (open, or unanswered after the last nudge), due in the quarter
    "overdue": (
        (
            Review.state.in_([ReviewState.OPEN.value, ReviewState.UNANSWERED.value]),
            Review.outcome.is_(None),
            _in(Review.due_at, "since", "end"),
        ),
        (Review.due_at, Review.id),
    ),
    # first outcomes recorded in the week; newest first
    "outcomes": (
        (Review.outcome.is_not(None), _in(Review.outcome_at, "start", "end")),
        (Review.outcome_at.desc(), Review.id.desc()),  # type: ignore[union-attr]
    ),
}


@cache
def _review_statement(which: str, workspace: bool) -> Any:
    where, order = _REVIEW_LISTS[which]
    return (
        select(
            Decision.number,
            Decision.title,
            Review.due_at,
            Review.outcome,
            func.count().over().label("total"),
            *(
                func.sum(case((Review.outcome == o.value, 1), else_=0)).over().label(o.value)
                for o in Outcome
            ),
        )
        .join(Review, Review.decision_id == Decision.id)
        .where(*_decision_covered(workspace), Review.team_id == bindparam("team"), *where)
        .order_by(*order)
        .limit(SHOWN)
    )


@cache
def _dissent_statement(workspace: bool) -> Any:
    return (
        select(ReviewAsk.dissent_answer, func.count())
        .join(Review, Review.id == ReviewAsk.review_id)
        .join(Decision, Decision.id == Review.decision_id)
        # reviews and their asks are reached through this team's decisions (they carry the
        # decision's team); a team_id condition on them leads the planner to read every
        # review of the team instead of the covered decisions' few
        .where(
            *_decision_covered(workspace),
            ReviewAsk.role == DISSENTER,
            ReviewAsk.dissent_answer.in_([DissentAnswer.YES.value, DissentAnswer.NO.value]),  # type: ignore[union-attr]
            _in(ReviewAsk.answered_at, "since", "end"),
        )
        .group_by(ReviewAsk.dissent_answer)
    )


def _review_listing(rows: Any) -> Listing[ReviewLine]:
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
