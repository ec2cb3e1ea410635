"""Stances: each person's one current stance on a decision (agree, disagree and commit,
block), set idempotently and recorded in the decision's history. A block records who the
deciders were when it was placed (only they may override it: ``storage.decision_status``).
A decision's stances are read with ``storage.decisions.stances``."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from storage import decision_spans, rules
from storage.decisions import get_decision, members, record_event, saved_id
from storage.errors import Conflict
from storage.models import Decision, Role, Stance, StanceKind, utcnow
from storage.visibility import Viewer


def current_stance(session: Session, *, decision: Decision, user_id: str) -> Stance | None:
    return session.scalars(
        select(Stance).where(
            col(Stance.team_id) == decision.team_id,
            col(Stance.decision_id) == decision.id,
            col(Stance.user_id) == user_id,
        )
    ).one_or_none()


def set_stance(
    session: Session,
    *,
    team_id: str,
    number: int,
    user_id: str,
    kind: StanceKind,
    concern: str = "",
    change_my_mind: str = "",
    reason: str = "",
    viewer: Viewer | None = None,
) -> tuple[Decision, bool]:
    """Set the user's one current stance. Returns (decision, changed).

    Idempotent: the same stance again (a double click, a Slack retry) changes nothing and
    records nothing. The decision row is locked first, so concurrent clicks serialise.
    """
    decision = get_decision(session, team_id=team_id, number=number, viewer=viewer, for_update=True)
    if not rules.is_live(decision.status):
        raise Conflict(f"{decision.ref} is {decision.status}; stances are closed.")
    current = current_stance(session, decision=decision, user_id=user_id)
    committed = kind == StanceKind.DISAGREE_AND_COMMIT
    new: dict[str, str | bool] = {
        "kind": str(kind),
        "concern": concern,
        "change_my_mind": change_my_mind,
        "reason": reason,
        "committed": committed,
    }
    if current is not None:
        old = {k: getattr(current, k) for k in new}
        if old == new:
            return decision, False
        for k, v in new.items():
            setattr(current, k, v)
        current.updated_at = utcnow()
        session.add(current)
    else:
        old = None
        session.add(
            Stance(
                team_id=team_id,
                decision_id=saved_id(decision),
                user_id=user_id,
                kind=str(kind),
                concern=concern,
                change_my_mind=change_my_mind,
                reason=reason,
                committed=committed,
            )
        )
    now = utcnow()
    if kind == StanceKind.BLOCK:
        decision_spans.block_placed(session, decision=decision, user_id=user_id, when=now)
    elif old is not None and old["kind"] == StanceKind.BLOCK:
        decision_spans.block_lifted(session, decision=decision, user_id=user_id, when=now)
    extra: dict[str, object] = {}
    if kind == StanceKind.BLOCK:
        # Who may override this block: the deciders as they are now, not as they may be
        # after an edit (see change_status).
        extra["deciders"] = members(session, decision=decision)[Role.DECIDER]
    record_event(
        session,
        decision=decision,
        actor_id=user_id,
        kind="stance",
        previous=old,
        details={k: v for k, v in new.items() if v not in ("", False)},
        **extra,
    )
    session.flush()
    return decision, True


__all__ = ["current_stance", "set_stance"]
