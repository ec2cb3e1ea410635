"""Answers to a review: the outcome from the author or a decider (the first one closes the
review), a dissenter's "did your concern come true?", and "too early: ask again" (``snooze``).
Answering again replaces the person's answer; the decision's history keeps the old one."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from storage import due_work, forecasts
from storage.decision_work import channel_lane, dm_lane, schedule_refresh
from storage.decisions import record_event, saved_id
from storage.errors import Conflict, NotAllowed, NotFound
from storage.models import (
    Decision,
    DissentAnswer,
    Outcome,
    Review,
    ReviewAsk,
    ReviewState,
    UserPreference,
    utcnow,
)
from storage.reviews import (
    DISSENTER,
    EXPIRE,
    LIVE,
    NUDGE,
    OWNER,
    ReviewWork,
    _asks,
    _close,
    get_review,
    next_ask_after_snooze,
    work_key,
)
from storage.tables import ASKS


def get_ask(session: Session, *, team_id: str, ask_id: int) -> ReviewAsk:
    ask = session.scalars(
        select(ReviewAsk).where(col(ReviewAsk.team_id) == team_id, col(ReviewAsk.id) == ask_id)
    ).one_or_none()
    if ask is None:
        raise NotFound("That review question doesn't exist any more.")
    return ask


# Built once (each review question sent reads it): an ask with its review and decision, all
# three in the workspace given.
_ASK_WITH_REVIEW = (
    select(ReviewAsk, Review, Decision)
    .join(Review, col(Review.id) == col(ReviewAsk.review_id))
    .join(Decision, col(Decision.id) == col(Review.decision_id))
    .where(
        col(ReviewAsk.team_id) == bindparam("team_id"),
        col(Review.team_id) == bindparam("team_id"),
        col(Decision.team_id) == bindparam("team_id"),
        col(ReviewAsk.id) == bindparam("ask_id"),
    )
)
# ... and whether the person asked turned the bot's DMs off (no preference row: they didn't).
_ASK_TO_SEND = _ASK_WITH_REVIEW.add_columns(col(UserPreference.dms_off)).outerjoin(
    UserPreference,
    (col(UserPreference.team_id) == col(ReviewAsk.team_id))
    & (col(UserPreference.user_id) == col(ReviewAsk.user_id)),
)


def ask_with_review(
    session: Session, *, team_id: str, ask_id: int
) -> tuple[ReviewAsk, Review, Decision]:
    """An ask with its review and decision, in one query (all three in this workspace)."""
    found = session.execute(_ASK_WITH_REVIEW, {"team_id": team_id, "ask_id": ask_id}).first()
    if found is None:
        raise NotFound("That review question doesn't exist any more.")
    ask, review, decision = found
    return ask, review, decision


def ask_to_send(
    session: Session, *, team_id: str, ask_id: int
) -> tuple[ReviewAsk, Review, Decision, bool]:
    """``ask_with_review``, and whether the person asked has turned the bot's DMs off
    (``storage.preferences``), in the same one query: what sending the question reads."""
    found = session.execute(_ASK_TO_SEND, {"team_id": team_id, "ask_id": ask_id}).first()
    if found is None:
        raise NotFound("That review question doesn't exist any more.")
    ask, review, decision, dms_off = found
    return ask, review, decision, bool(dms_off)


_SET_ASK_MESSAGE = (
    update(ASKS)
    .where(ASKS.c.id == bindparam("ask_id"))
    .values(channel_id=bindparam("channel_id"), message_ts=bindparam("message_ts"))
)


def set_ask_message(session: Session, *, ask: ReviewAsk, channel_id: str, message_ts: str) -> None:
    """Where the ask's DM landed (a prebuilt Core UPDATE: it runs once per DM sent)."""
    session.connection().execute(
        _SET_ASK_MESSAGE, {"ask_id": ask.id, "channel_id": channel_id, "message_ts": message_ts}
    )


def _ask_for(session: Session, review: Review, user_id: str, role: str) -> ReviewAsk:
    ask = session.scalars(
        select(ReviewAsk).where(
            col(ReviewAsk.review_id) == review.id,
            col(ReviewAsk.user_id) == user_id,
            col(ReviewAsk.role) == role,
        )
    ).one_or_none()
    if ask is None:
        who = "the author and deciders" if role == OWNER else "people who disagreed and committed"
        raise NotAllowed(f"This question is for {who} of the decision.")
    return ask


def record_outcome(
    session: Session,
    *,
    team_id: str,
    review_id: int,
    user_id: str,
    outcome: Outcome,
    what_happened: str = "",
    evidence: str = "",
    learned: str = "",
    now: datetime | None = None,
) -> tuple[Review, Decision, bool, bool]:
    """Store this person's outcome (one per person; answering again replaces theirs and the
    history keeps the old one). The first answer closes the review. Returns
    (review, decision, first, changed): ``first`` says this answer closed the review,
    ``changed`` is False for an identical repeat (a double submit), which records nothing."""
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    # The time is read once the review is locked, so answers are timed in the order they
    # were recorded and the first outcome is also the earliest.
    now = now or utcnow()
    if review.state == ReviewState.CANCELLED:
        raise Conflict("This review was cancelled (the decision changed since); nothing to record.")
    ask = _ask_for(session, review, user_id, OWNER)
    decision = session.scalars(select(Decision).where(col(Decision.id) == review.decision_id)).one()
    if (ask.outcome, ask.what_happened, ask.evidence, ask.learned) == (
        outcome,
        what_happened,
        evidence,
        learned,
    ):
        return review, decision, False, False
    previous = {"outcome": ask.outcome, "what_happened": ask.what_happened} if ask.outcome else None
    ask.outcome = outcome
    ask.what_happened, ask.evidence, ask.learned = what_happened, evidence, learned
    ask.answered_at = now
    session.add(ask)
    first = review.outcome is None
    if first:
        review.outcome, review.outcome_by, review.outcome_at = outcome, user_id, now
        review.state = ReviewState.ANSWERED
        session.add(review)
        due_work.cancel(
            session, team_id=team_id, kinds=(NUDGE, EXPIRE), subject_ids=[saved_id(review)]
        )
        # the decision's first outcome scores every forecast still pending on it (issue 25)
        forecasts.score_forecasts(
            session, decision=decision, review=review, outcome=outcome, now=now
        )
    record_event(
        session,
        decision=decision,
        actor_id=user_id,
        kind="review_outcome",
        round=review.round,
        outcome=outcome,
        what_happened=what_happened,
        evidence=evidence,
        learned=learned,
        previous=previous,
    )
    session.flush()
    _schedule_outcome_notes(session, review, decision, ask, first=first)
    return review, decision, first, True


def _schedule_outcome_notes(
    session: Session, review: Review, decision: Decision, answered: ReviewAsk, *, first: bool
) -> None:
    """With the outcome, in its transaction: the summary in the decision's thread, the
    decision message's badge (first outcome), and every asked owner's DM turned into
    "answered by ..." (one coalesced row per DM: it shows the newest answers)."""
    due_work.schedule(
        session,
        team_id=review.team_id,
        kind=ReviewWork.OUTCOME_NOTE,
        subject_id=saved_id(review),
        key=work_key(saved_id(review), "outcome-note", uuid.uuid4().hex),
        due_at=utcnow(),
        payload={
            "user": answered.user_id,
            "outcome": answered.outcome,
            "what_happened": answered.what_happened,
        },
        lane=channel_lane(decision.channel_id),
    )
    if first:
        schedule_refresh(session, decision=decision)
    for ask in _asks(session, review):
        if ask.role == OWNER and ask.channel_id and ask.message_ts:
            due_work.schedule_coalesced(
                session,
                team_id=review.team_id,
                kind=ReviewWork.ANSWERED,
                subject_id=saved_id(review),
                key=work_key(saved_id(review), "answered", ask.id),
                now=utcnow(),
                payload={"ask_id": ask.id},
                lane=dm_lane(ask.user_id),
            )


def record_dissent(
    session: Session,
    *,
    team_id: str,
    review_id: int,
    user_id: str,
    answer: DissentAnswer,
    now: datetime | None = None,
) -> tuple[ReviewAsk, bool]:
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    ask = _ask_for(session, review, user_id, DISSENTER)
    if ask.dissent_answer == answer:
        return ask, False
    decision = session.scalars(select(Decision).where(col(Decision.id) == review.decision_id)).one()
    previous = ask.dissent_answer
    ask.dissent_answer = answer
    ask.answered_at = now or utcnow()
    session.add(ask)
    record_event(
        session,
        decision=decision,
        actor_id=user_id,
        kind="dissent_answer",
        answer=answer,
        previous=previous,
    )
    session.flush()
    return ask, True


def snooze(
    session: Session, *, team_id: str, review_id: int, user_id: str, due_at: datetime, label: str
) -> Review:
    """ "Too early — ask again in …": close this round and schedule the next ask (the planned
    review, if it comes first: ``reviews.next_ask_after_snooze``). Returns the next round."""
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    if review.state not in LIVE:
        raise Conflict("This review is already closed.")
    _ask_for(session, review, user_id, OWNER)
    decision = session.scalars(select(Decision).where(col(Decision.id) == review.decision_id)).one()
    _close(session, review, ReviewState.CANCELLED)
    session.flush()
    record_event(
        session,
        decision=decision,
        actor_id=user_id,
        kind="review_snoozed",
        round=review.round,
        until=label,
    )
    return next_ask_after_snooze(
        session, decision=decision, due_at=due_at, timezone=review.timezone, actor_id=user_id
    )
