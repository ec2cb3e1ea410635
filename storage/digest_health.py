"""The digest's health figures over the quarter: review response rate, reversals and time
to accept, in three statements."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.digest_common import Params, _decision_covered, _in
from storage.models import Decision, DecisionEvent, DecisionStatus, Review, ReviewState


@dataclass(frozen=True)
class HealthPart:
    """Over the quarter (the 90 days ending at ``end``):

    - response rate: reviews asked (due in the quarter and opened: open, answered or
      unanswered; cancelled ones left out) and how many have an outcome. Counted per review,
      not per person: the first owner's answer closes a review for every owner.
    - reversals: decisions recorded in the quarter, and how many of them a decision recorded
      before ``end`` superseded (so within 90 days of being recorded).
    - time to accept: the median from recording to acceptance of the decisions accepted in
      the quarter (``status_changed`` to accepted). Decisions recorded as already accepted
      are left out: they were decided before anyone recorded them, and counting them as 0
      would measure how the bot is used, not how long the team takes to agree."""

    reviews_asked: int = 0
    reviews_answered: int = 0
    decisions_recorded: int = 0
    decisions_reversed: int = 0
    accepted: int = 0
    median_to_accept: timedelta | None = None

    @property
    def empty(self) -> bool:
        return not (self.reviews_asked or self.decisions_recorded or self.accepted)


_ASKED = (ReviewState.OPEN.value, ReviewState.ANSWERED.value, ReviewState.UNANSWERED.value)


@cache
def _asked_statement(workspace: bool) -> Select[int, int]:
    return (
        select(func.count(), func.count(col(Review.outcome)))
        .join(Decision, col(Decision.id) == col(Review.decision_id))
        .where(
            *_decision_covered(workspace),
            col(Review.team_id) == bindparam("team"),
            col(Review.state).in_(_ASKED),
            _in(col(Review.due_at), "since", "end"),
        )
    )


@cache
def _reversed_statement(workspace: bool) -> Select[int, int]:
    successor = aliased(Decision)
    return (
        select(func.count(col(Decision.id)), func.count(col(successor.id)))
        .select_from(Decision)
        .outerjoin(
            successor,
            and_(
                col(successor.id) == col(Decision.superseded_by_id),
                col(successor.team_id) == bindparam("team"),
                col(successor.created_at) < bindparam("end"),
            ),
        )
        .where(*_decision_covered(workspace), _in(col(Decision.created_at), "since", "end"))
    )


@cache
def _accepted_statement(workspace: bool) -> Select[datetime, datetime, str]:
    # status_changed details are JSON written by storage.decisions.record_event; the LIKE
    # only narrows the rows, the parsed detail decides (_to)
    return (
        select(col(Decision.created_at), col(DecisionEvent.created_at), col(DecisionEvent.detail))
        .join(DecisionEvent, col(DecisionEvent.decision_id) == col(Decision.id))
        .where(
            *_decision_covered(workspace),
            col(DecisionEvent.team_id) == bindparam("team"),
            col(DecisionEvent.kind) == "status_changed",
            col(DecisionEvent.detail).like('%"accepted"%'),
            _in(col(DecisionEvent.created_at), "since", "end"),
        )
    )


def _to(detail: str) -> str | None:
    try:
        found = json.loads(detail or "{}").get("to")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _health(session: Session, workspace: bool, params: Params) -> HealthPart:
    asked, answered = session.execute(_asked_statement(workspace), params).one()
    recorded, reversed_ = session.execute(_reversed_statement(workspace), params).one()
    waits = [
        accepted_at - recorded_at
        for recorded_at, accepted_at, detail in session.execute(
            _accepted_statement(workspace), params
        ).all()
        if _to(detail) == DecisionStatus.ACCEPTED
    ]
    return HealthPart(
        reviews_asked=int(asked),
        reviews_answered=int(answered),
        decisions_recorded=int(recorded),
        decisions_reversed=int(reversed_),
        accepted=len(waits),
        median_to_accept=statistics.median(waits) if waits else None,
    )


__all__ = ["HealthPart"]
