"""Decision reviews ("did this decision work?"): rounds, who is asked, outcomes, dissent.

Every function takes the session and the team explicitly. Slack calls happen elsewhere; the
work they need is scheduled here as due_work rows, each one message to one place, so a
crash can repeat at most the message in flight.

Here: review rounds (scheduled, opened, nudged, expired, cancelled) and who is asked. Beside
this module: the answers (``storage.review_answers``), what App Home and `/adr show` list
(``storage.review_lists``) and the workspace's schedule settings (``storage.review_settings``).
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlmodel import Session, col

from storage import due_work, preferences
from storage.decision_work import channel_lane, dm_lane, schedule_review_planning
from storage.decisions import members, record_event, saved_id, stances
from storage.errors import NotFound
from storage.models import (
    Decision,
    DueWork,
    Review,
    ReviewAsk,
    ReviewState,
    Role,
    StanceKind,
    WorkState,
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


def work_key(review_id: int, *parts: object) -> str:
    """The unique key of a review's outbox row: ``review:<id>:<part>:...`` (built only here)."""
    return ":".join(["review", str(review_id), *map(str, parts)])


LIVE = (ReviewState.SCHEDULED, ReviewState.OPEN)


def get_review(
    session: Session, *, team_id: str, review_id: int, for_update: bool = False
) -> Review:
    stmt = select(Review).where(col(Review.team_id) == team_id, col(Review.id) == review_id)
    if for_update:
        stmt = stmt.with_for_update()
    review = session.scalars(stmt).one_or_none()
    if review is None:
        raise NotFound("That review doesn't exist in this workspace any more.")
    return review


def live_review(session: Session, *, decision: Decision) -> Review | None:
    return session.scalars(
        select(Review)
        .where(
            col(Review.team_id) == decision.team_id,
            col(Review.decision_id) == decision.id,
            col(Review.state).in_(LIVE),
        )
        .order_by(col(Review.round).desc())
        .limit(1)
    ).one_or_none()


def _scheduled(session: Session, *, decision: Decision) -> list[Review]:
    """The decision's rounds waiting to be asked, soonest first."""
    return list(
        session.scalars(
            select(Review)
            .where(
                col(Review.team_id) == decision.team_id,
                col(Review.decision_id) == decision.id,
                col(Review.state) == ReviewState.SCHEDULED,
            )
            .order_by(col(Review.due_at), col(Review.round))
        )
    )


def planned_review(session: Session, *, decision: Decision) -> Review | None:
    """The review the review date planned: the scheduled round due last. An extra ask
    (`/adr review N`, or "ask again in …" answered on one) is only ever added before it, so
    moving the review date moves this round and leaves the extra asks alone."""
    scheduled = _scheduled(session, decision=decision)
    return scheduled[-1] if scheduled else None


def _new_round(session: Session, *, decision: Decision, due_at: datetime, timezone: str) -> Review:
    """A new round due at ``due_at`` with its outbox row. Rounds are numbered in the order
    they are asked: a scheduled round due later (the planned review, when this one is an
    extra ask) moves up one number."""
    last_round = session.scalars(
        select(func.max(col(Review.round))).where(col(Review.decision_id) == decision.id)
    ).one()
    number = (last_round or 0) + 1
    later = [r for r in _scheduled(session, decision=decision) if r.due_at > due_at]
    for shifted in sorted(later, key=lambda r: r.round, reverse=True):
        number = min(number, shifted.round)
        shifted.round += 1
        session.add(shifted)
        session.flush()  # one at a time, highest first: (decision, round) stays unique
    return _add_round(session, decision=decision, number=number, due_at=due_at, timezone=timezone)


def _add_round(
    session: Session, *, decision: Decision, number: int, due_at: datetime, timezone: str
) -> Review:
    review = Review(
        team_id=decision.team_id,
        decision_id=saved_id(decision),
        round=number,
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
        subject_id=saved_id(review),
        key=work_key(saved_id(review), "open"),
        due_at=due_at,
    )
    return review


def _has_rounds(session: Session, *, decision: Decision) -> bool:
    return (
        session.scalars(
            select(col(Review.id)).where(col(Review.decision_id) == decision.id).limit(1)
        ).first()
        is not None
    )


def _cancel_open(session: Session, *, decision: Decision, keep: Review | None = None) -> None:
    """Close the round already asked and not answered (but ``keep``), with its reminders:
    one question about a decision is open at a time."""
    stmt = select(Review).where(
        col(Review.team_id) == decision.team_id,
        col(Review.decision_id) == decision.id,
        col(Review.state) == ReviewState.OPEN,
    )
    if keep is not None:
        stmt = stmt.where(col(Review.id) != keep.id)
    for review in list(session.scalars(stmt)):
        _close(session, review, ReviewState.CANCELLED)


def schedule_review(
    session: Session, *, decision: Decision, due_at: datetime, timezone: str, actor_id: str
) -> Review:
    """Make sure the decision has its planned review due at ``due_at``: move the planned
    round (``planned_review``), or start the next round. With no round planned, one already
    asked and still open is cancelled and replaced."""
    if not _has_rounds(session, decision=decision):
        # A new decision's first review (the common case, from its post): nothing to move,
        # cancel or renumber; one query instead of four.
        review = _add_round(session, decision=decision, number=1, due_at=due_at, timezone=timezone)
        return _scheduled_event(session, decision=decision, review=review, actor_id=actor_id)
    current = planned_review(session, decision=decision)
    if current is not None:
        current.due_at = due_at
        current.timezone = timezone
        session.add(current)
        due_work.reschedule(
            session,
            team_id=decision.team_id,
            key=work_key(saved_id(current), "open"),
            due_at=due_at,
        )
        review = current
    else:
        _cancel_open(session, decision=decision)
        review = _new_round(session, decision=decision, due_at=due_at, timezone=timezone)
    return _scheduled_event(session, decision=decision, review=review, actor_id=actor_id)


def ask_now(
    session: Session, *, decision: Decision, now: datetime, timezone: str, actor_id: str
) -> Review | None:
    """`/adr review N`: ask the author and deciders now, in a round of its own due ``now``
    (the commit wakes the dispatcher, which asks at once), and keep the planned review as it
    is. A round asked before and still open is cancelled: its question is asked again now.
    Returns the planned review that stays (None when none is planned, or when it is due
    already: then it is the one asked now)."""
    _cancel_open(session, decision=decision)
    planned = planned_review(session, decision=decision)
    if planned is not None and planned.due_at <= now:
        # The planned review is due (the dispatcher has not got to it): ask it now, once.
        schedule_review(
            session, decision=decision, due_at=now, timezone=planned.timezone, actor_id=actor_id
        )
        return None
    review = _new_round(session, decision=decision, due_at=now, timezone=timezone)
    record_event(
        session,
        decision=decision,
        actor_id=actor_id,
        kind="review_asked_now",
        round=review.round,
        planned=planned.due_at.isoformat() if planned is not None else None,
    )
    session.flush()
    return planned


def next_ask_after_snooze(
    session: Session, *, decision: Decision, due_at: datetime, timezone: str, actor_id: str
) -> Review:
    """ "Too early — ask again in …" (the round answered is closed already): the next ask at
    ``due_at``; when the planned review comes first, it is the next ask and nothing is added;
    when it comes later, it stays and a round due at ``due_at`` is added before it."""
    planned = planned_review(session, decision=decision)
    if planned is None:
        return schedule_review(
            session, decision=decision, due_at=due_at, timezone=timezone, actor_id=actor_id
        )
    if planned.due_at <= due_at:
        return planned
    review = _new_round(session, decision=decision, due_at=due_at, timezone=timezone)
    return _scheduled_event(session, decision=decision, review=review, actor_id=actor_id)


def _scheduled_event(
    session: Session, *, decision: Decision, review: Review, actor_id: str
) -> Review:
    """The decision's history says when ``review`` is due (a review scheduled or moved)."""
    record_event(
        session,
        decision=decision,
        actor_id=actor_id,
        kind="review_scheduled",
        due_at=review.due_at.isoformat(),
    )
    session.flush()
    return review


def _close(session: Session, review: Review, state: ReviewState) -> None:
    review.state = state
    session.add(review)
    due_work.cancel(
        session, team_id=review.team_id, kinds=REVIEW_KINDS, subject_ids=[saved_id(review)]
    )


def cancel_reviews(session: Session, *, decision: Decision) -> int:
    """Rejecting, deprecating or superseding a decision, or clearing its review date, cancels
    its live reviews and their pending follow-ups."""
    live = list(
        session.scalars(
            select(Review).where(
                col(Review.team_id) == decision.team_id,
                col(Review.decision_id) == decision.id,
                col(Review.state).in_(LIVE),
            )
        )
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
    crash finds the rows and keys already there and adds nothing). A round still open from
    an earlier ask (`/adr review N`) is cancelled with its reminders: this one asks again."""
    review = get_review(session, team_id=team_id, review_id=review_id, for_update=True)
    if review.state not in LIVE:
        return None
    decision = session.scalars(
        select(Decision).where(
            col(Decision.team_id) == team_id, col(Decision.id) == review.decision_id
        )
    ).one()
    _cancel_open(session, decision=decision, keep=review)
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
        for a in session.scalars(select(ReviewAsk).where(col(ReviewAsk.review_id) == review.id))
    }
    for user, role, concern in wanted:
        if (user, role) not in existing:
            session.add(
                ReviewAsk(
                    team_id=team_id,
                    review_id=saved_id(review),
                    user_id=user,
                    role=role,
                    concern=concern,
                )
            )
    session.flush()
    muted = muted_askees(session, review=review)  # `/adr dm off`: the author is told
    for ask in _asks(session, review):
        if ask.user_id in muted:
            continue
        due_work.schedule(
            session,
            team_id=team_id,
            kind=ASK,
            subject_id=saved_id(review),
            key=work_key(saved_id(review), "ask", ask.id, 0),
            due_at=now,
            payload={"ask_id": ask.id, "nudge": 0},
            lane=dm_lane(ask.user_id),
        )
    due_work.schedule(
        session,
        team_id=team_id,
        kind=THREAD,
        subject_id=saved_id(review),
        key=work_key(saved_id(review), "thread"),
        due_at=now,
        lane=channel_lane(decision.channel_id),
    )
    due_work.schedule(
        session,
        team_id=team_id,
        kind=NUDGE,
        subject_id=saved_id(review),
        key=work_key(saved_id(review), "nudge", 1),
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
        session.scalars(
            select(ReviewAsk)
            .where(col(ReviewAsk.review_id) == review.id)
            .order_by(col(ReviewAsk.id))
        )
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
        for payload in session.scalars(
            select(col(DueWork.payload)).where(
                col(DueWork.team_id) == team_id,
                col(DueWork.kind) == ASK,
                col(DueWork.subject_id) == review.id,
                col(DueWork.state) == WorkState.FAILED,
            )
        )
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
            subject_id=saved_id(review),
            key=work_key(saved_id(review), "ask", ask.id, number),
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
            subject_id=saved_id(review),
            key=work_key(saved_id(review), "nudge", number + 1),
            due_at=next_at,
            payload={"nudge": number + 1},
        )
    else:
        due_work.schedule(
            session,
            team_id=team_id,
            kind=EXPIRE,
            subject_id=saved_id(review),
            key=work_key(saved_id(review), "expire"),
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
    decision = session.scalars(select(Decision).where(col(Decision.id) == review.decision_id)).one()
    record_event(
        session,
        decision=decision,
        actor_id=BOT_ACTOR,
        kind="review_unanswered",
        round=review.round,
    )
    session.flush()
    return True
