"""Driving "did this decision work?" end to end: a decision with a review date recorded through
the `/adr` modal, its review rows, asks and outbox rows, the outcome form, and a Disagree &
commit stance."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.core.ids import Action, Field
from storage.db import Database
from storage.models import DecisionEvent, DueWork, Review, ReviewAsk
from tests.support.adr import Adr
from tests.support.delivery import aware, next_weekday, sweep
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import Call

BERLIN = "Europe/Berlin"
ANSWER_BLOCK = "decision.review.answer"
DISSENT_BLOCK = "decision.review.dissent"


def reviews(db: Database, decision_number: int = 1) -> list[Review]:
    from storage.models import Decision

    with db.read() as s:
        decision = s.exec(
            select(Decision).where(Decision.team_id == "TAAA", Decision.number == decision_number)
        ).one()
        return list(
            s.exec(
                select(Review).where(Review.decision_id == decision.id).order_by(Review.round)
            ).all()
        )


def wait_review(db: Database, decision_number: int = 1, *, round_: int = 1) -> Review:
    """Scheduling runs after the ack: wait until the review row is there."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [r for r in reviews(db, decision_number) if r.round == round_]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no review round {round_} for ADR-{decision_number}")


def asks(db: Database, review_id: int) -> dict[tuple[str, str], ReviewAsk]:
    with db.read() as s:
        rows = s.exec(select(ReviewAsk).where(ReviewAsk.review_id == review_id)).all()
    return {(a.user_id, a.role): a for a in rows}


def work(db: Database, review_id: int | None = None) -> list[DueWork]:
    """The review outbox rows (of one review)."""
    with db.read() as s:
        stmt = select(DueWork).where(DueWork.kind.like("review.%")).order_by(DueWork.id)
        if review_id is not None:
            stmt = stmt.where(DueWork.subject_id == review_id)
        return list(s.exec(stmt).all())


def events(db: Database, kind: str) -> list[dict[str, Any]]:
    with db.read() as s:
        rows = s.exec(
            select(DecisionEvent).where(DecisionEvent.kind == kind).order_by(DecisionEvent.id)
        ).all()
    return [{"actor": e.actor_id, **json.loads(e.detail)} for e in rows]


def review(db: Database, review_id: int) -> Review:
    with db.read() as s:
        return s.get(Review, review_id)


def asks_in(calls: list[Call], block_id: str = ANSWER_BLOCK) -> list[Call]:
    return [
        c for c in calls if any(b.get("block_id") == block_id for b in c.args.get("blocks") or [])
    ]


def new_decision(
    adr: Adr,
    *,
    title: str = "Use Postgres",
    decision: str = "We use Postgres.",
    deciders: tuple[str, ...] = ("UBOB",),
    review_date: date | None = None,
    success: str = "",
    author: str = "UALICE",
) -> int:
    values: dict[str, Any] = {
        Field.DECIDERS: list(deciders),
        Field.REVIEW_DATE: (review_date or next_weekday(0)).isoformat(),
    }
    if success:
        values[Field.SUCCESS] = success
    number = adr.new(title, decision=decision, user=author, values=values)
    wait_review(adr.db, number)
    return number


def open_outcome_form(slack: SlackDriver, action: str, review_id: int, user: str) -> dict[str, Any]:
    before = slack.views_opened()
    reply = slack.click(action, str(review_id), user=user, channel="D" + user[1:])
    assert reply.status == 200, reply.text
    return slack.opened_view(after=before)


def submit_outcome(
    slack: SlackDriver,
    view: dict[str, Any],
    user: str,
    what: str,
    evidence: str = "",
    learned: str = "",
) -> None:
    values = {Field.WHAT_HAPPENED: what}
    if evidence:
        values[Field.EVIDENCE] = evidence
    if learned:
        values[Field.LEARNED] = learned
    reply = slack.submit(view, values, user=user)
    assert reply.status == 200 and reply.text == "", (reply.status, reply.text)


def opened(slack: SlackDriver, db: Database, number: int = 1) -> tuple[Review, datetime]:
    """Sweep at ADR-n's due instant (plus a minute): the review opens and the asks go out."""
    r = reviews(db, number)[-1]
    now = aware(r.due_at) + timedelta(minutes=1)
    result = sweep(slack, db, now)
    assert result.failed == 0 and result.retried == 0, result
    return review(db, r.id), now


def disagree(slack: SlackDriver, user: str, concern: str, number: int = 1) -> None:
    before = slack.views_opened()
    assert slack.click(Action.DISAGREE, str(number), user=user).status == 200
    view = slack.opened_view(after=before)
    reply = slack.submit(view, {Field.CONCERN: concern, Field.COMMIT: ["commit"]}, user=user)
    assert reply.status == 200 and reply.text == "", reply.text
