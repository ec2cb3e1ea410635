"""What App Home and `/adr show` show about reviews: a decision's latest review and the next
one, the questions waiting for a person's answer, and the reviews of decisions they own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, select
from sqlmodel import Session, col

from storage.models import Decision, DecisionMember, Review, ReviewAsk, ReviewState, Role
from storage.reviews import _asks


@dataclass
class ReviewSummary:
    """What `/adr show` and App Home show about a decision's reviews."""

    latest: Review | None
    asks: list[ReviewAsk]
    next_due: datetime | None
    next_timezone: str | None = None  # the zone the next review is asked in


def review_summary(
    session: Session, *, decision: Decision, any_rounds: bool = True
) -> ReviewSummary:
    """The latest answered review (else the latest one), its asks, and the next scheduled
    review. One query for the decision's few review rounds; one more only if there are any.
    ``any_rounds=False`` (a loaded record found none): no query at all."""
    if not any_rounds:
        return ReviewSummary(latest=None, asks=[], next_due=None)
    rounds = list(
        session.scalars(
            select(Review)
            .where(col(Review.team_id) == decision.team_id, col(Review.decision_id) == decision.id)
            .order_by(col(Review.round).desc())
        )
    )
    latest = next((r for r in rounds if r.state != ReviewState.CANCELLED), None)
    answered = next((r for r in rounds if r.outcome is not None), None)
    # the next ask: an extra one (`/adr review N`, a snooze) may come before the planned one
    scheduled = [r for r in rounds if r.state == ReviewState.SCHEDULED]
    upcoming = min(scheduled, key=lambda r: r.due_at) if scheduled else None
    shown = answered or latest
    return ReviewSummary(
        latest=shown,
        # a round not asked yet has no asks: no query for them
        asks=_asks(session, shown)
        if shown is not None and shown.state != ReviewState.SCHEDULED
        else [],
        next_due=upcoming.due_at if upcoming is not None else None,
        next_timezone=upcoming.timezone if upcoming is not None else None,
    )


def open_asks_for(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Decision]:
    """Decisions whose open review is waiting for this person's answer (App Home)."""
    stmt = (
        select(Decision)
        .join(Review, col(Review.decision_id) == col(Decision.id))
        .join(ReviewAsk, col(ReviewAsk.review_id) == col(Review.id))
        .where(
            col(Decision.team_id) == team_id,
            col(Review.team_id) == team_id,
            col(Review.state) == ReviewState.OPEN,
            col(ReviewAsk.user_id) == user_id,
            col(ReviewAsk.answered_at).is_(None),
        )
        .order_by(col(Review.due_at))
        .limit(limit)
    )
    unique: dict[int | None, Decision] = {}
    for decision in session.scalars(stmt):
        unique.setdefault(decision.id, decision)
    return list(unique.values())


def _owned_by(team_id: str, user_id: str) -> ColumnElement[bool]:
    """Decisions the person wrote or is a decider on."""
    decider = (
        select(col(DecisionMember.decision_id))
        .where(
            col(DecisionMember.team_id) == team_id,
            col(DecisionMember.user_id) == user_id,
            col(DecisionMember.role) == Role.DECIDER,
        )
        .scalar_subquery()
    )
    return (col(Decision.author_id) == user_id) | col(Decision.id).in_(decider)


def _owned_reviews(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    where: ColumnElement[bool],
    order: SQLColumnExpression[datetime | None],
    limit: int,
) -> list[tuple[Decision, Review]]:
    stmt = (
        select(Decision, Review)
        .join(Review, col(Review.decision_id) == col(Decision.id))
        .where(col(Decision.team_id) == team_id, where, _owned_by(team_id, user_id))
        .order_by(order)
        .limit(limit)
    )
    rows: Sequence[tuple[Decision, Review]] = session.execute(stmt).all()
    return [(d, r) for d, r in rows]


def upcoming_for(
    session: Session, *, team_id: str, user_id: str, limit: int = 5
) -> list[tuple[Decision, Review]]:
    """Scheduled reviews of decisions this person wrote or decided, soonest first."""
    return _owned_reviews(
        session,
        team_id=team_id,
        user_id=user_id,
        limit=limit,
        where=col(Review.state) == ReviewState.SCHEDULED,
        order=col(Review.due_at),
    )


def recent_outcomes(
    session: Session, *, team_id: str, user_id: str, limit: int = 5
) -> list[tuple[Decision, Review]]:
    """Answered reviews of decisions this person wrote or decided, newest first."""
    return _owned_reviews(
        session,
        team_id=team_id,
        user_id=user_id,
        limit=limit,
        where=col(Review.outcome).is_not(None),
        order=col(Review.outcome_at).desc(),
    )
