"""Lists of decisions, newest first: `/adr list` (what the viewer may see, by status or tag)
and App Home's (recent, awaiting the person's stance, theirs)."""

from __future__ import annotations

from sqlalchemy import exists, func, or_, select
from sqlmodel import Session, col

from storage.models import Decision, DecisionMember, DecisionStatus, Role, Stance
from storage.visibility import Viewer, _visible_to


def list_decisions(
    session: Session,
    *,
    team_id: str,
    viewer: Viewer,
    status: DecisionStatus | None = None,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[Decision], int]:
    """Visible decisions, newest first, and how many match in all."""
    conds = [col(Decision.team_id) == team_id, _visible_to(viewer)]
    if status is not None:
        conds.append(col(Decision.status) == status)
    if tag:
        tag = tag.replace("\x00", "")  # Postgres text can't hold NUL (no tag contains one)
        conds.append(col(Decision.tags).like(f"% {_like_escape(tag)} %", escape="\\"))
    total = session.scalars(select(func.count()).select_from(Decision).where(*conds)).one()
    rows = session.scalars(
        select(Decision)
        .where(*conds)
        .order_by(col(Decision.number).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


def recent_decisions(
    session: Session, *, team_id: str, viewer: Viewer, limit: int = 5
) -> list[Decision]:
    return list_decisions(session, team_id=team_id, viewer=viewer, limit=limit)[0]


def awaiting_stance(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Decision]:
    """Proposed decisions that name the user (decider or consulted) and have no stance of theirs."""
    named = exists().where(
        col(DecisionMember.decision_id) == col(Decision.id),
        col(DecisionMember.user_id) == user_id,
        col(DecisionMember.role).in_([Role.DECIDER, Role.CONSULTED]),
    )
    has_stance = exists().where(
        col(Stance.decision_id) == col(Decision.id), col(Stance.user_id) == user_id
    )
    stmt = (
        select(Decision)
        .where(
            col(Decision.team_id) == team_id,
            col(Decision.status) == DecisionStatus.PROPOSED,
            named,
            ~has_stance,
        )
        .order_by(col(Decision.number).desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def owned_decisions(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Decision]:
    """Decisions the user wrote or is a decider on, newest first."""
    decider = exists().where(
        col(DecisionMember.decision_id) == col(Decision.id),
        col(DecisionMember.user_id) == user_id,
        col(DecisionMember.role) == Role.DECIDER,
    )
    stmt = (
        select(Decision)
        .where(col(Decision.team_id) == team_id, or_(col(Decision.author_id) == user_id, decider))
        .order_by(col(Decision.number).desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__ = ["awaiting_stance", "list_decisions", "owned_decisions", "recent_decisions"]
