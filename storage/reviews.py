"""Decision reviews ("did this decision work?"): rounds, who is asked, outcomes, dissent.

Every function takes the session and the team explicitly. Slack calls happen elsewhere; the
work they need is scheduled here as due_work rows, each one message to one place, so a
crash can repeat at most the message in flight.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from storage import due_work, preferences
from storage.decision_work import (
    channel_lane,
    dm_lane,
    schedule_refresh,
    schedule_review_planning,
)
from storage.decisions import members, record_event, stances
from storage.errors import Conflict, NotAllowed, NotFound
from storage.models import (
    Decision,
    DecisionMember,
    DissentAnswer,
    DueWork,
    Outcome,
    Review,
    ReviewAsk,
    ReviewState,
    Role,
    StanceKind,
    WorkspaceSettings,
    WorkState,
    utcnow,
)

BOT_ACTOR = "decisionbot"  # history entries made by the scheduler, not a person
OWNER = "owner"
DISSENTER = "dissenter"


class ReviewWork(StrEnum):
    """Kinds of outbox rows for reviews; subject_id is always the review id."""

    OPEN = "review.open"  # fan out: who to ask, the thread note, the first nudge
    ASK = "review.ask"  # one DM to one person (payload: ask_id, nudge)
    THREAD = "review.thread"  # one reply in the decision's thread
    NUDGE = "review.nudge"  # fan out reminders to whoever has not answered
    EXPIRE = "review.expire"  # no answer after the last nudge: mark unanswered
    OUTCOME_NOTE = "review.outcome_note"  # the one-line outcome summary in the thread
    ANSWERED = "review.answered"  # turn one asked owner's DM into "answered by ..."


OPEN, ASK, THREAD, NUDGE, EXPIRE = (
    ReviewWork.OPEN,
    ReviewWork.ASK,
    ReviewWork.THREAD,
    ReviewWork.NUDGE,
    ReviewWork.EXPIRE,
)
# What closing a review cancels (the outcome's own notes stay: they report what happened).
REVIEW_KINDS = (OPEN, ASK, THREAD, NUDGE, EXPIRE)


def work_key(review_id: int | None, *parts: object) -> str:
    """The unique key of a review's outbox row: ``review:<id>:<part>:...`` (built only here)."""
    return ":".join(["review", str(review_id), *map(str, parts)])


LIVE = (ReviewState.SCHEDULED, ReviewState.OPEN)


@dataclass
class ReviewSummary:
    """What `/adr show` and App Home show about a decision's reviews."""

    latest: Review | None
    asks: list[ReviewAsk]
    next_due: datetime | None


def workspace_settings(session: Session, *, team_id: str) -> WorkspaceSettings:
    found = session.get(WorkspaceSettings, team_id)
    return found if found is not None else WorkspaceSettings(team_id=team_id)


def update_settings(session: Session, *, team_id: str, **values: Any) -> WorkspaceSettings:
    current = session.get(WorkspaceSettings, team_id)
    if current is None:
        current = WorkspaceSettings(team_id=team_id)
    for key, value in values.items():
        setattr(current, key, value)
    session.add(current)
    session.flush()
    return current


def get_review(
    session: Session, *, team_id: str, review_id: int, for_update: bool = False
) -> Review:
    stmt = select(Review).where(Review.team_id == team_id, Review.id == review_id)
    if for_update:
        stmt = stmt.with_for_update()
    review = session.execute(stmt).scalar_one_or_none()
    if review is None:
        raise NotFound("That review doesn't exist in this workspace any more.")
    return review


def live_review(session: Session, *, decision: Decision) -> Review | None:
    return session.execute(
        select(Review)
        .where(
            Review.team_id == decision.team_id,
            Review.decision_id == decision.id,
            Review.state.in_(LIVE),
        )
        .order_by(Review.round.desc())
        .limit(1)
    ).scalar_one_or_none()


def schedule_review(
    session: Session, *, decision: Decision, due_at: datetime, timezone: str, actor_id: str
) -> Review:
    """Make sure the decision has a review due at ``due_at``: move a scheduled one, or start
    the next round. An open review (already asked) is cancelled and replaced."""
    current = live_review(session, decision=decision)
    if current is not None and current.state == ReviewState.SCHEDULED:
        current.due_at = due_at
        current.timezone = timezone
        session.add(current)
        due_work.reschedule(
            session, team_id=decision.team_id, key=work_key(current.id, "open"), due_at=due_at
        )
        record_event(
            session,
            decision=decision,
            actor_id=actor_id,
            kind="review_scheduled",
            due_at=due_at.isoformat(),
        )
        session.flush()
        return current
    if current is not None:
        _close(session, current, ReviewState.CANCELLED)
    last_round = session.execute(
        select(func.max(Review.round)).where(Review.decision_id == decision.id)
    ).scalar_one()
    review = Review(
        team_id=decision.team_id,
        decision_id=decision.id,  # type: ignore[arg-type]
        round=(last_round or 0) + 1,
        due_at=due_at,
        timezone=timezone,
        state=ReviewState.SCHEDULED,
    )
    session.add(review)
    session.flush()
    due_work.schedule(
        session,
        team_id=decision.team_id,
        kind=OPEN,
        subject_id=review.id,  # type: ignore[arg-type]
        key=work_key(review.id, "open"),
        due_at=due_at,
    )
    record_event(
        session,
        decision=decision,
        actor_id=actor_id,
        kind="review_scheduled",
        due_at=due_at.isoformat(),
    )
    return review


def _close(session: Session, review: Review, state: ReviewState) -> None:
    review.state = state
    session.add(review)
    due_work.cancel(session, team_id=review.team_id, kinds=REVIEW_KINDS, subject_ids=[review.id])  # type: ignore[list-item]


def cancel_reviews(session: Session, *, decision: Decision) -> int:
    """Rejecting, deprecating or superseding a decision, or clearing its review date, cancels
    its live reviews and their pending follow-ups."""
    live = list(
        session.execute(
            select(Review).where(
                Review.team_id == decision.team_id,
                Review.decision_id == decision.id,
                Review.state.in_(LIVE),
            )
        ).scalars()
    )
    for review in live:
        _close(session, review, ReviewState.CANCELLED)
    session.flush()
    return len(live)


def follow_review_date(session: Session, *, decision: Decision, actor_id: str) -> None:
    """The review date was edited: plan the review for the new date (the dispatcher turns it
    into an instant), or, when it was cleared, cancel the review waiting for the old date with
    its pending rows, as rejecting the decision does. Setting a date again starts a new round."""
    if decision.review_date is not None:
        schedule_review_planning(session, decision=decision, actor_id=actor_id)
    else:
        cancel_reviews(session, decision=decision)


def open_review(
    session: Session, *, team_id: str, review_id: int, now: datetime, nudge_at: datetime
) -> Review | None:
    """Fan a due review out into one message per person (idempotent: re-running after a
    crash finds the rows and keys already there and adds nothing)."""
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    if review.state not in LIVE:
        return None
    decision = session.execute(
        select(Decision).where(Decision.team_id == team_id, Decision.id == review.decision_id)
    ).scalar_one()
    review.state = ReviewState.OPEN
    session.add(review)
    owners = list(
        dict.fromkeys([decision.author_id, *members(session, decision=decision)[Role.DECIDER]])
    )
    dissent = [
        s for s in stances(session, decision=decision) if s.kind == StanceKind.DISAGREE_AND_COMMIT
    ]
    wanted = [(u, OWNER, "") for u in owners] + [(s.user_id, DISSENTER, s.concern) for s in dissent]
    existing = {
        (a.user_id, a.role)
        for a in session.execute(
            select(ReviewAsk).where(ReviewAsk.review_id == review.id)
        ).scalars()
    }
    for user, role, concern in wanted:
        if (user, role) not in existing:
            session.add(
                ReviewAsk(
                    team_id=team_id, review_id=review.id, user_id=user, role=role, concern=concern
                )
            )  # type: ignore[arg-type]
    session.flush()
    muted = muted_askees(session, review=review)  # `/adr dm off`: the author is told
    for ask in _asks(session, review):
        if ask.user_id in muted:
            continue
        due_work.schedule(
            session,
            team_id=team_id,
            kind=ASK,
            subject_id=review.id,  # type: ignore[arg-type]
            key=work_key(review.id, "ask", ask.id, 0),
            due_at=now,
            payload={"ask_id": ask.id, "nudge": 0},
            lane=dm_lane(ask.user_id),
        )
    due_work.schedule(
        session,
        team_id=team_id,
        kind=THREAD,
        subject_id=review.id,  # type: ignore[arg-type]
        key=work_key(review.id, "thread"),
        due_at=now,
        lane=channel_lane(decision.channel_id),
    )
    due_work.schedule(
        session,
        team_id=team_id,
        kind=NUDGE,
        subject_id=review.id,  # type: ignore[arg-type]
        key=work_key(review.id, "nudge", 1),
        due_at=nudge_at,
        payload={"nudge": 1},
    )
    record_event(
        session,
        decision=decision,
        actor_id=BOT_ACTOR,
        kind="review_opened",
        round=review.round,
    )
    session.flush()
    return review


def _asks(session: Session, review: Review) -> list[ReviewAsk]:
    return list(
        session.execute(
            select(ReviewAsk).where(ReviewAsk.review_id == review.id).order_by(ReviewAsk.id)
        ).scalars()
    )


def asks(session: Session, *, review: Review) -> list[ReviewAsk]:
    return _asks(session, review)


def muted_askees(session: Session, *, review: Review) -> set[str]:
    """People asked in this review who turned the bot's DMs off (`/adr dm off`): they get
    no question and no reminder (their ask stays, so App Home shows it waiting)."""
    return preferences.muted(
        session, team_id=review.team_id, user_ids=[a.user_id for a in _asks(session, review)]
    )


def nudge(
    session: Session,
    *,
    team_id: str,
    review_id: int,
    number: int,
    now: datetime,
    next_at: datetime,
    max_nudges: int,
) -> int:
    """Remind whoever has not answered; schedule the next nudge, or the expiry after the
    last one. Returns how many reminders were scheduled."""
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    if review.state != ReviewState.OPEN or number > max_nudges:
        return 0
    # Someone Slack refused for good (account_inactive, ...) is not asked again: the author
    # was told so when it failed.
    unreachable = {
        json.loads(payload or "{}").get("ask_id")
        for payload in session.execute(
            select(DueWork.payload).where(
                DueWork.team_id == team_id,
                DueWork.kind == ASK,
                DueWork.subject_id == review.id,
                DueWork.state == WorkState.FAILED,
            )
        ).scalars()
    }
    muted = muted_askees(session, review=review)  # `/adr dm off`: no reminders either
    pending = [
        a
        for a in _asks(session, review)
        if a.answered_at is None and a.id not in unreachable and a.user_id not in muted
    ]
    for ask in pending:
        due_work.schedule(
            session,
            team_id=team_id,
            kind=ASK,
            subject_id=review.id,  # type: ignore[arg-type]
            key=work_key(review.id, "ask", ask.id, number),
            due_at=now,
            payload={"ask_id": ask.id, "nudge": number},
            lane=dm_lane(ask.user_id),
        )
    review.nudges_sent = max(review.nudges_sent, number)
    session.add(review)
    if number < max_nudges:
        due_work.schedule(
            session,
            team_id=team_id,
            kind=NUDGE,
            subject_id=review.id,  # type: ignore[arg-type]
            key=work_key(review.id, "nudge", number + 1),
            due_at=next_at,
            payload={"nudge": number + 1},
        )
    else:
        due_work.schedule(
            session,
            team_id=team_id,
            kind=EXPIRE,
            subject_id=review.id,  # type: ignore[arg-type]
            key=work_key(review.id, "expire"),
            due_at=next_at,
        )
    session.flush()
    return len(pending)


def expire(session: Session, *, team_id: str, review_id: int) -> bool:
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    if review.state != ReviewState.OPEN or review.outcome is not None:
        return False
    review.state = ReviewState.UNANSWERED
    session.add(review)
    decision = session.execute(
        select(Decision).where(Decision.id == review.decision_id)
    ).scalar_one()
    record_event(
        session,
        decision=decision,
        actor_id=BOT_ACTOR,
        kind="review_unanswered",
        round=review.round,
    )
    session.flush()
    return True


def get_ask(session: Session, *, team_id: str, ask_id: int) -> ReviewAsk:
    ask = session.execute(
        select(ReviewAsk).where(ReviewAsk.team_id == team_id, ReviewAsk.id == ask_id)
    ).scalar_one_or_none()
    if ask is None:
        raise NotFound("That review question doesn't exist any more.")
    return ask


def ask_with_review(
    session: Session, *, team_id: str, ask_id: int
) -> tuple[ReviewAsk, Review, Decision]:
    """An ask with its review and decision, in one query (all three in this workspace)."""
    found = session.execute(
        select(ReviewAsk, Review, Decision)
        .join(Review, Review.id == ReviewAsk.review_id)
        .join(Decision, Decision.id == Review.decision_id)
        .where(
            ReviewAsk.team_id == team_id,
            Review.team_id == team_id,
            Decision.team_id == team_id,
            ReviewAsk.id == ask_id,
        )
    ).first()
    if found is None:
        raise NotFound("That review question doesn't exist any more.")
    ask, review, decision = found
    return ask, review, decision


_ASKS = ReviewAsk.__table__  # type: ignore[attr-defined]
_SET_ASK_MESSAGE = (
    update(_ASKS)
    .where(_ASKS.c.id == bindparam("ask_id"))
    .values(channel_id=bindparam("channel_id"), message_ts=bindparam("message_ts"))
)


def set_ask_message(session: Session, *, ask: ReviewAsk, channel_id: str, message_ts: str) -> None:
    """Where the ask's DM landed (a prebuilt Core UPDATE: it runs once per DM sent)."""
    session.connection().execute(
        _SET_ASK_MESSAGE, {"ask_id": ask.id, "channel_id": channel_id, "message_ts": message_ts}
    )


def _ask_for(session: Session, review: Review, user_id: str, role: str) -> ReviewAsk:
    ask = session.execute(
        select(ReviewAsk).where(
            ReviewAsk.review_id == review.id, ReviewAsk.user_id == user_id, ReviewAsk.role == role
        )
    ).scalar_one_or_none()
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
    decision = session.execute(
        select(Decision).where(Decision.id == review.decision_id)
    ).scalar_one()
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
        due_work.cancel(session, team_id=team_id, kinds=(NUDGE, EXPIRE), subject_ids=[review.id])  # type: ignore[list-item]
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
        subject_id=review.id,  # type: ignore[arg-type]
        key=work_key(review.id, "outcome-note", uuid.uuid4().hex),
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
                subject_id=review.id,  # type: ignore[arg-type]
                key=work_key(review.id, "answered", ask.id),
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
    decision = session.execute(
        select(Decision).where(Decision.id == review.decision_id)
    ).scalar_one()
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
    """ "Too early — ask again in …": close this round and schedule the next one."""
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    if review.state not in LIVE:
        raise Conflict("This review is already closed.")
    _ask_for(session, review, user_id, OWNER)
    decision = session.execute(
        select(Decision).where(Decision.id == review.decision_id)
    ).scalar_one()
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
    return schedule_review(
        session, decision=decision, due_at=due_at, timezone=review.timezone, actor_id=user_id
    )


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
    live = next((r for r in rounds if r.state in LIVE), None)
    shown = answered or latest
    return ReviewSummary(
        latest=shown,
        asks=_asks(session, shown) if shown is not None else [],
        next_due=live.due_at if live is not None and live.state == ReviewState.SCHEDULED else None,
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
