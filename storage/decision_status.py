"""A decision's lifecycle: accept, reject, deprecate (superseding is
``storage.decisions.create_decision``), from the states ``storage.rules.TRANSITIONS``
allows, by the author or a decider.

A Block holds acceptance: only someone who was a decider when the block was placed may
override it, with a note; the override and the blocks it overrode stay in the history.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session, col

from storage import decide_by, decision_spans
from storage.decisions import (
    _require_transition,
    get_decision,
    members,
    record_event,
    require_changer,
    stances,
)
from storage.errors import Conflict, InvalidInput, NotAllowed
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionStatus,
    JsonObject,
    Role,
    StanceKind,
    utcnow,
)


def change_status(
    session: Session,
    *,
    team_id: str,
    number: int,
    actor_id: str,
    to: DecisionStatus,
    note: str = "",
    override: bool = False,
) -> Decision:
    """Accept, reject or deprecate a decision (supersede goes through create_decision).

    A proposed decision with an active Block can be accepted only by a decider overriding it
    with a note; the override and the blockers it overrode are kept in the history.
    """
    decision = get_decision(session, team_id=team_id, number=number, for_update=True)
    require_changer(session, decision, actor_id)
    _require_transition(decision, to)
    detail: JsonObject = {"from": decision.status, "to": to}
    if note:
        detail["note"] = note
    if to == DecisionStatus.ACCEPTED:
        blockers = [
            s.user_id for s in stances(session, decision=decision) if s.kind == StanceKind.BLOCK
        ]
        if blockers:
            mentions = ", ".join(f"<@{u}>" for u in blockers)
            if not override:
                raise Conflict(
                    f"{decision.ref} is blocked by {mentions}. It can be accepted once the "
                    f"block is withdrawn, or a decider can override it: "
                    f"`/adr accept {number} --override` followed by the reason."
                )
            refusal = override_refusal(session, decision=decision, actor_id=actor_id)
            if refusal:
                raise NotAllowed(refusal)
            if not note.strip():
                raise InvalidInput(
                    f"Overriding a block needs a note: `/adr accept {number} --override` followed by the reason."
                )
            detail["overrode_blocks"] = blockers
    now = utcnow()
    decision.status = to
    decision.updated_at = now
    if to == DecisionStatus.ACCEPTED:
        decision.accepted_at = now
        if "overrode_blocks" in detail:
            decision_spans.overridden(session, decision=decision, when=now)
    else:  # rejected or deprecated: the decision has ended
        decision.closed_at = now
        decision_spans.ended(session, decision=decision, when=now)
    session.add(decision)
    decide_by.cancel_nudges(session, decision=decision)  # decided: nothing left to nudge
    record_event(
        session, decision=decision, actor_id=actor_id, kind="status_changed", details=detail
    )
    session.flush()
    return decision


def override_refusal(session: Session, *, decision: Decision, actor_id: str) -> str | None:
    """Why ``actor_id`` may not override the blocks on ``decision``, or None if they may.

    Only someone who was a decider when each block was placed: adding yourself as a decider
    by an edit does not let you override a block that already stood."""
    for s in stances(session, decision=decision):
        if s.kind == StanceKind.BLOCK and actor_id not in _deciders_when_blocked(
            session, decision, s.user_id
        ):
            return (
                f"Only someone who was a decider of {decision.ref} when <@{s.user_id}> "
                "blocked it can override that block."
            )
    return None


def _deciders_when_blocked(session: Session, decision: Decision, blocker: str) -> list[str]:
    """The deciders of ``decision`` when ``blocker`` placed their current block (blocks from
    before this was recorded: the current deciders)."""
    for event in session.scalars(
        select(DecisionEvent)
        .where(
            col(DecisionEvent.decision_id) == decision.id,
            col(DecisionEvent.kind) == "stance",
            col(DecisionEvent.actor_id) == blocker,
        )
        .order_by(col(DecisionEvent.id).desc())
    ):
        detail = json.loads(event.detail or "{}")
        if detail.get("kind") == StanceKind.BLOCK:
            if "deciders" in detail:
                return list(detail["deciders"])
            break
    return members(session, decision=decision)[Role.DECIDER]


__all__ = ["change_status", "override_refusal"]
