"""What App Home and `/adr show` show about reviews: a decision's latest review and the next
one, the questions waiting for a person's answer, and the reviews of decisions they own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from storage.models import Decision, DecisionMember, Review, ReviewAsk, ReviewState, Role
from storage.reviews import _asks


@dataclass
class ReviewSummary:
    """What `/adr show` and App Home show about a decision's reviews."""

    latest: Review | None
    asks: list[ReviewAsk]
    next_due: datetime | None
    next_timezone: str | None = None  # the zone the next review is asked in


def review_summary(session: Session, *, decision: Decision) -> ReviewSummary:
    """The latest answered review (else the latest one), its asks, and the next scheduled
    review. One query for the decision's few review rounds; one more only if there are any."""
    rounds = list(
        session.execute(
            select(Review)
            .where(Review.team_id == decision.team_id, Review.decision_id == decision.id)
            .order_by(Review.round.desc())
        ).scalars()
    )
    latest = next((r for r in rounds if r.state != ReviewState.CANCELLED), None)
    answered = next((r for r in rounds if r.outcome is not None), None)
    # the next ask: an extra one (`/adr review N`, a snooze) may come before the planned one
    scheduled = [r for r in rounds if r.state == ReviewState.SCHEDULED]
    upcoming = min(scheduled, key=lambda r: r.due_at) if scheduled else None
    shown = answered or latest
    return ReviewSummary(
        latest=shown,
        asks=_asks(session, shown) if shown is not None else [],
        next_due=upcoming.due_at if upcoming is not None else None,
        next_timezone=upcoming.timezone if upcoming is not None else None,
    )


def open_asks_for(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Decision]:
    """Decisions whose open review is waiting for this person's answer (App Home)."""
    stmt = (
        select(Decision)
        .join(Review, Review.decision_id == Decision.id)
        .join(ReviewAsk, ReviewAsk.review_id == Review.id)
        .where(
            Decision.team_id == team_id,
            Review.team_id == team_id,
            Review.state == ReviewState.OPEN,
            ReviewAsk.user_id == user_id,
            ReviewAsk.answered_at.is_(None),
        )
        .order_by(Review.due_at)
        .limit(limit)
    )
    unique: dict[int | None, Decision] = {}
    for decision in session.execute(stmt).scalars():
        unique.setdefault(decision.id, decision)
    return list(unique.values())


def _owned_by(team_id: str, user_id: str) -> Any:
    """Decisions the person wrote or is a decider on."""
    decider = (
        select(DecisionMember.decision_id)
        .where(
            DecisionMember.team_id == team_id,
            DecisionMember.user_id == user_id,
            DecisionMember.role == Role.DECIDER,
        )
        .scalar_subquery()
    )
    return (Decision.author_id == user_id) | Decision.id.in_(decider)


def _owned_reviews(
    session: Session, *, team_id: str, user_id: str, where: Any, order: Any, limit: int
) -> list[tuple[Decision, Review]]:
    stmt = (
        select(Decision, Review)
        .join(Review, Review.decision_id == Decision.id)
        .where(Decision.team_id == team_id, where, _owned_by(team_id, user_id))
        .order_by(order)
        .limit(limit)
    )
    return [(d, r) for d, r in session.execute(stmt).all()]


def upcoming_for(
    session: Session, *, team_id: str, user_id: str, limit: int = 5
) -> list[tuple[Decision, Review]]:
    """Scheduled reviews of decisions this person wrote or decided, soonest first."""
    return _owned_reviews(
        session,
        team_id=team_id,
        user_id=user_id,
        limit=limit,
        where=Review.state == ReviewState.SCHEDULED,
        order=Review.due_at,
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
        where=Review.outcome.is_not(None),
        order=Review.outcome_at.desc(),
    )
