"""Decision log queries and changes. Keyword-only, session first, always scoped to a team.

Every change that matters to people is recorded as a :class:`DecisionEvent` (actor, time, and
what was replaced), so a record's history can be shown and nothing typed is silently lost.

Beside this module: numbers (``storage.numbers``), who sees what (``storage.visibility``),
search (``storage.search``), lists (``storage.decision_lists``), `/adr show`'s record
(``storage.decision_record``), accept / reject / deprecate (``storage.decision_status``) and
stances (``storage.stances``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlalchemy import select, update
from sqlmodel import Session, col

from storage import decide_by, forecasts, rules
from storage.decision_spans import ended
from storage.errors import Conflict, NotAllowed, NotFound
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionMember,
    DecisionStatus,
    ForecastSource,
    JsonObject,
    Role,
    Stance,
    StanceKind,
    utcnow,
)
from storage.numbers import next_number
from storage.tables import MEMBERS
from storage.visibility import Viewer, _visible_to, numbered

EDITABLE_FIELDS = (
    "title",
    "context",
    "options",
    "decision",
    "consequences",
    "success_criteria",
    "tags",
    "review_date",
    "door",
    "decide_by",
)


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(row: _Row) -> int:
    """The id of a row read or flushed (a decision, a review: every row the rest of the app
    holds); only a row never flushed has none."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} is not saved yet: it has no id")
    return row.id


@dataclass
class DecisionDraft:
    """Validated input for a new decision or an edit (built by the modal parser)."""

    title: str
    decision: str
    context: str = ""
    options: str = ""
    consequences: str = ""
    success_criteria: str = ""
    status: DecisionStatus = DecisionStatus.PROPOSED
    tags: list[str] = field(default_factory=list)
    review_date: date | None = None
    deciders: list[str] = field(default_factory=list)
    consulted: list[str] = field(default_factory=list)
    informed: list[str] = field(default_factory=list)
    channel_id: str = ""
    # decision health (issue 25), both optional: one-way or two-way door (storage.models.Door)
    # and the probability, in percent, that the person submitting gives it of meeting its
    # success criteria (their own forecast: private until it is scored)
    door: str | None = None
    forecast: int | None = None
    # the day a proposed decision should be decided by (issue 26): its nudges
    # (storage.decide_by); kept only while the decision is proposed
    decide_by: date | None = None


def get_decision(
    session: Session,
    *,
    team_id: str,
    number: int,
    viewer: Viewer | None = None,
    for_update: bool = False,
) -> Decision:
    """The decision ``ADR-number`` of this workspace, if ``viewer`` may see it."""
    return numbered(
        session,
        Decision,
        team_id=team_id,
        number=number,
        visible=_visible_to(viewer) if viewer is not None else None,
        for_update=for_update,
        ref=f"ADR-{number}",
    )


def get_decision_by_id(
    session: Session, *, team_id: str, decision_id: int, for_update: bool = False
) -> Decision:
    if for_update:
        found = session.scalars(
            select(Decision)
            .where(col(Decision.team_id) == team_id, col(Decision.id) == decision_id)
            .with_for_update()
        ).one_or_none()
    else:
        found = _by_id(session, team_id, decision_id)
    if found is None:
        raise NotFound("That decision doesn't exist in this workspace.")
    return found


def members(session: Session, *, decision: Decision) -> dict[str, list[str]]:
    rows: Sequence[tuple[str, str]] = session.execute(
        select(col(DecisionMember.role), col(DecisionMember.user_id))
        .where(
            col(DecisionMember.team_id) == decision.team_id,
            col(DecisionMember.decision_id) == decision.id,
        )
        .order_by(col(DecisionMember.id))
    ).all()
    out: dict[str, list[str]] = {r.value: [] for r in Role}
    for role, user in rows:
        out.setdefault(role, []).append(user)
    return out


def stances(session: Session, *, decision: Decision) -> list[Stance]:
    return list(
        session.scalars(
            select(Stance)
            .where(col(Stance.team_id) == decision.team_id, col(Stance.decision_id) == decision.id)
            .order_by(col(Stance.updated_at), col(Stance.id))
        )
    )


def events(session: Session, *, decision: Decision) -> list[DecisionEvent]:
    return list(
        session.scalars(
            select(DecisionEvent)
            .where(
                col(DecisionEvent.team_id) == decision.team_id,
                col(DecisionEvent.decision_id) == decision.id,
            )
            .order_by(col(DecisionEvent.id))
        )
    )


def _by_id(session: Session, team_id: str, decision_id: int | None) -> Decision | None:
    if decision_id is None:
        return None
    return session.scalars(
        select(Decision).where(col(Decision.team_id) == team_id, col(Decision.id) == decision_id)
    ).one_or_none()


def record_event(
    session: Session,
    *,
    decision: Decision,
    actor_id: str,
    kind: str,
    details: JsonObject | None = None,
    **detail: object,
) -> DecisionEvent:
    """Append a history event. ``details`` carries keys that can't be keyword arguments here
    (a stance event's own ``kind``); ``**detail`` is merged over it."""
    ev = DecisionEvent(
        team_id=decision.team_id,
        decision_id=saved_id(decision),
        actor_id=actor_id,
        kind=kind,
        detail=json.dumps({**(details or {}), **detail}, default=str, ensure_ascii=False),
    )
    session.add(ev)
    return ev


def _set_members(
    session: Session, decision: Decision, draft: DecisionDraft, *, new: bool = False
) -> None:
    """The draft's people, in one multi-row INSERT (after deleting the old ones, unless the
    decision is ``new``)."""
    decision_id = saved_id(decision)
    if not new:
        session.execute(MEMBERS.delete().where(MEMBERS.c.decision_id == decision_id))
    rows = [
        {"team_id": decision.team_id, "decision_id": decision_id, "user_id": user, "role": role}
        for role, users in (
            (Role.DECIDER, draft.deciders),
            (Role.CONSULTED, draft.consulted),
            (Role.INFORMED, draft.informed),
        )
        for user in dict.fromkeys(users)
    ]
    if rows:
        session.execute(MEMBERS.insert().values(rows))


def _tags(tags: list[str]) -> str:
    return f" {' '.join(dict.fromkeys(tags))} " if tags else ""


def _save_own_forecast(
    session: Session, decision: Decision, user_id: str, draft: DecisionDraft
) -> None:
    """The forecast the person submitting the decision form gave, if any: theirs alone."""
    if draft.forecast is not None:
        forecasts.save_forecast(
            session,
            decision=decision,
            user_id=user_id,
            probability=draft.forecast,
            source=ForecastSource.DECISION_FORM,
        )


def create_decision(
    session: Session,
    *,
    team_id: str,
    author_id: str,
    draft: DecisionDraft,
    channel_private: bool,
    enterprise_id: str | None = None,
    source_permalink: str | None = None,
    supersedes_number: int | None = None,
) -> Decision:
    """Save a new decision with the next ``ADR-n`` number; optionally supersede another.

    Superseding checks permission and state on the old decision first, so a refused supersede
    saves nothing.
    """
    old: Decision | None = None
    if supersedes_number is not None:
        old = get_decision(session, team_id=team_id, number=supersedes_number, for_update=True)
        require_changer(session, old, author_id)
        _require_transition(old, DecisionStatus.SUPERSEDED)
    decision = Decision(
        team_id=team_id,
        enterprise_id=enterprise_id,
        number=next_number(session, team_id=team_id, kind="adr"),
        title=draft.title,
        context=draft.context,
        options=draft.options,
        decision=draft.decision,
        consequences=draft.consequences,
        success_criteria=draft.success_criteria,
        # Superseding starts a new round of stances: never accepted from the start.
        status=DecisionStatus.PROPOSED if old is not None else draft.status,
        tags=_tags(draft.tags),
        review_date=draft.review_date,
        channel_id=draft.channel_id,
        channel_private=channel_private,
        author_id=author_id,
        source_permalink=source_permalink,
        supersedes_id=old.id if old else None,
        door=draft.door,
        decide_by=(
            draft.decide_by
            if (old is not None or draft.status == DecisionStatus.PROPOSED)
            else None
        ),
    )
    if decision.status == DecisionStatus.ACCEPTED:
        decision.accepted_at = decision.created_at  # recorded as decided: no lead time
    session.add(decision)
    session.flush()
    _set_members(session, decision, draft, new=True)
    record_event(
        session, decision=decision, actor_id=author_id, kind="created", status=decision.status
    )
    _save_own_forecast(session, decision, author_id, draft)
    if old is not None:
        old_status = old.status
        old.status = DecisionStatus.SUPERSEDED
        old.superseded_by_id = decision.id
        old.updated_at = old.closed_at = utcnow()
        session.add(old)
        decide_by.cancel_nudges(session, decision=old)
        ended(session, decision=old, when=old.closed_at)
        record_event(
            session,
            decision=old,
            actor_id=author_id,
            kind="superseded",
            details={"by": decision.ref, "from": old_status},
        )
        record_event(session, decision=decision, actor_id=author_id, kind="supersedes", of=old.ref)
    session.flush()
    return decision


def set_post_result(
    session: Session,
    *,
    decision: Decision,
    message_ts: str | None,
    error: str | None,
    private: bool | None = None,
) -> None:
    """Where the post landed (or why it failed); ``private`` is the channel's privacy as
    read when posting (None: leave it as saved)."""
    values: dict[str, object] = {
        "message_ts": message_ts or Decision.message_ts,
        "post_error": error,
    }
    if private is not None:
        values["channel_private"] = private
    session.execute(
        update(Decision)
        .where(col(Decision.id) == decision.id, col(Decision.team_id) == decision.team_id)
        .values(**values)
    )


def is_changer(session: Session, decision: Decision, user_id: str) -> bool:
    """``rules.may_change``, with the decision's deciders read from the database."""
    deciders = members(session, decision=decision)[Role.DECIDER]
    return rules.may_change(author_id=decision.author_id, deciders=deciders, user_id=user_id)


def require_changer(session: Session, decision: Decision, user_id: str) -> None:
    """Raise NotAllowed with the one refusal unless ``user_id`` may change the decision."""
    if not is_changer(session, decision, user_id):
        raise NotAllowed(rules.change_refused(ref=decision.ref, author_id=decision.author_id))


def _require_transition(decision: Decision, to: DecisionStatus) -> None:
    if not rules.can_become(decision.status, to):
        raise Conflict(f"{decision.ref} is {decision.status}, so it can't become {to}.")


def update_decision(
    session: Session, *, team_id: str, number: int, actor_id: str, draft: DecisionDraft
) -> tuple[Decision, dict[str, list[object]]]:
    """Apply an edit; the event keeps every replaced value, so nothing typed is lost."""
    decision = get_decision(session, team_id=team_id, number=number, for_update=True)
    require_changer(session, decision, actor_id)
    changes: dict[str, list[object]] = {}
    new_values: dict[str, object] = {
        "title": draft.title,
        "context": draft.context,
        "options": draft.options,
        "decision": draft.decision,
        "consequences": draft.consequences,
        "success_criteria": draft.success_criteria,
        "tags": _tags(draft.tags),
        "review_date": draft.review_date,
        "door": draft.door,
        # a decided decision keeps the date it had: the form shows it only while proposed
        "decide_by": (
            draft.decide_by if decision.status == DecisionStatus.PROPOSED else decision.decide_by
        ),
    }
    for name in EDITABLE_FIELDS:
        old, new = getattr(decision, name), new_values[name]
        if old != new:
            changes[name] = [old, new]
            setattr(decision, name, new)
    old_members = members(session, decision=decision)
    new_members = {
        Role.DECIDER.value: list(dict.fromkeys(draft.deciders)),
        Role.CONSULTED.value: list(dict.fromkeys(draft.consulted)),
        Role.INFORMED.value: list(dict.fromkeys(draft.informed)),
    }
    for role, users in new_members.items():
        if old_members.get(role, []) != users:
            changes[role] = [old_members.get(role, []), users]
    if Role.DECIDER.value in changes and actor_id not in old_members.get(Role.DECIDER, []):
        if any(s.kind == StanceKind.BLOCK for s in stances(session, decision=decision)):
            raise NotAllowed(
                f"{decision.ref} is blocked, so only its deciders can change who decides."
            )
    if any(r in changes for r in new_members):
        _set_members(session, decision, draft)
    if changes:
        decision.updated_at = utcnow()
        session.add(decision)
        record_event(session, decision=decision, actor_id=actor_id, kind="edited", changes=changes)
    _save_own_forecast(session, decision, actor_id, draft)  # the editor's, never another's
    session.flush()
    return decision, changes


def set_review_date(
    session: Session, *, decision: Decision, review_date: date, actor_id: str
) -> None:
    """Move the review date (`/adr remind`); the old date stays in the history."""
    if decision.review_date == review_date:
        return
    record_event(
        session,
        decision=decision,
        actor_id=actor_id,
        kind="edited",
        changes={"review_date": [decision.review_date, review_date]},
    )
    decision.review_date = review_date
    decision.updated_at = utcnow()
    session.add(decision)
    session.flush()


__all__ = ["DecisionDraft", "create_decision", "get_decision", "set_post_result", "update_decision"]
