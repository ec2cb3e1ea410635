"""What decision health reads about a decision's life, kept where it happens (issue 25): the
spans a Block held it (``decision_blocks``) and what its end does to its forecasts.

- A Block placed opens a span; the blocker changing their stance closes it as withdrawn, an
  accept over it as overridden, and the decision's end (rejected, superseded, deprecated) as
  closed.
- A decision rejected or superseded before any review outcome leaves its pending forecasts
  unscored (counted as such); a deprecated one keeps them pending, since a review may still be
  answered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from storage import forecasts
from storage.models import (
    BlockResolution,
    Decision,
    DecisionBlock,
    DecisionStatus,
    saved_id,
)

# the ends that settle a decision's forecasts unscored
_VOIDING = (DecisionStatus.REJECTED, DecisionStatus.SUPERSEDED)


def block_placed(session: Session, *, decision: Decision, user_id: str, when: datetime) -> None:
    """Open a span for this person's Block (none opened twice: a span still open stays)."""
    if _open_spans(session, decision, user_id) == 0:
        session.add(
            DecisionBlock(
                team_id=decision.team_id,
                decision_id=saved_id(decision),
                user_id=user_id,
                placed_at=when,
            )
        )


def block_lifted(session: Session, *, decision: Decision, user_id: str, when: datetime) -> None:
    """The blocker changed their stance: their open span ends, withdrawn."""
    _resolve(session, decision, when, BlockResolution.WITHDRAWN, user_id=user_id)


def overridden(session: Session, *, decision: Decision, when: datetime) -> None:
    """A decider accepted over the blocks: every open span ends, overridden."""
    _resolve(session, decision, when, BlockResolution.OVERRIDDEN)


def ended(session: Session, *, decision: Decision, when: datetime) -> None:
    """The decision was rejected, superseded or deprecated (its status already set)."""
    _resolve(session, decision, when, BlockResolution.CLOSED)
    if decision.status in _VOIDING:
        forecasts.void_forecasts(session, decision=decision)


def _open_spans(session: Session, decision: Decision, user_id: str) -> int:
    return session.scalars(
        select(func.count()).where(
            col(DecisionBlock.decision_id) == saved_id(decision),
            col(DecisionBlock.user_id) == user_id,
            col(DecisionBlock.resolved_at).is_(None),
        )
    ).one()


def _resolve(
    session: Session,
    decision: Decision,
    when: datetime,
    resolution: BlockResolution,
    *,
    user_id: str | None = None,
) -> None:
    where = [
        col(DecisionBlock.decision_id) == saved_id(decision),
        col(DecisionBlock.resolved_at).is_(None),
    ]
    if user_id is not None:
        where.append(col(DecisionBlock.user_id) == user_id)
    session.execute(
        update(DecisionBlock).where(*where).values(resolved_at=when, resolution=str(resolution))
    )


__all__ = ["block_lifted", "block_placed", "ended", "overridden"]
