""" "Did this decision work?" follow-ups as outbox work: one handler per kind of row.

Each handler sends at most one Slack message, so if the process dies between Slack accepting
it and the row being marked done, the only message that can repeat is that one. Fan-out
steps (a review opening, a nudge round) send nothing: they write one row per message, in the
transaction that marks their own row done (``Job.after_send``).
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlmodel import Session, col

from bot.core.dates import working_days_later
from bot.core.render import Mrkdwn, mention, render
from bot.engine.registry import Job, PermanentFailure, Registry, WorkKind, raise_if_permanent
from bot.features.reviews.views import (
    build_answered,
    build_dissent_ask,
    build_review_ask,
    review_outcome_thread_text,
    review_thread_open_text,
)
from storage import review_answers, review_settings
from storage import reviews as repo
from storage.decision_work import schedule_dms_off_notice
from storage.models import Decision, DueWork, Outcome, Review, ReviewAsk, ReviewState
from storage.notices import schedule_notice
from storage.reviews import ReviewWork

log = logging.getLogger(__name__)

FIXES = {
    "not_in_channel": "Invite me to the channel with `/invite @Decision Bot`.",
    "channel_not_found": "The channel is gone or private without me in it.",
    "is_archived": "The channel is archived.",
    "account_inactive": "That person's account is deactivated; their answer won't be asked again.",
    "user_not_found": "That person isn't in this workspace any more.",
}


def _load(session: Session, item: DueWork) -> tuple[Review, Decision]:
    """A review row's subject: the review and its decision (both in the row's workspace)."""
    review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
    decision = session.execute(
        select(Decision).where(
            col(Decision.team_id) == item.team_id, col(Decision.id) == review.decision_id
        )
    ).scalar_one()
    return review, decision


def _ask(job: Job) -> tuple[ReviewAsk, Review, Decision]:
    with job.db.read() as session:
        return review_answers.ask_with_review(
            session, team_id=job.item.team_id, ask_id=int(job.payload["ask_id"])
        )


# -- fan-out steps (no message) --------------------------------------------------------------


def handle_open(job: Job) -> bool:
    item, now = job.item, job.now

    def open_review(session: Session) -> None:
        review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
        settings = review_settings.workspace_settings(session, team_id=item.team_id)
        nudge_at = working_days_later(
            now, settings.nudge_after_days, tz=review.timezone, hour=settings.review_hour
        )
        opened = repo.open_review(
            session, team_id=item.team_id, review_id=item.subject_id, now=now, nudge_at=nudge_at
        )
        if opened is not None:
            _tell_author_who_muted(session, opened)

    job.after_send.append(open_review)
    return False


def _tell_author_who_muted(session: Session, review: Review) -> None:
    """The review opened without asking people who turned DMs off: tell the author who
    (unless the author turned DMs off too)."""
    decision = session.execute(
        select(Decision).where(
            col(Decision.team_id) == review.team_id, col(Decision.id) == review.decision_id
        )
    ).scalar_one()
    muted = repo.muted_askees(session, review=review)
    if not muted or decision.author_id in muted:
        return
    people = list(dict.fromkeys(a.user_id for a in repo.asks(session, review=review)))
    schedule_dms_off_notice(
        session,
        decision=decision,
        about=f"review-{review.id}",
        text=render(
            "reviews/dms_off.md.j2",
            number=decision.number,
            people=[u for u in people if u in muted],
        ),
    )


def handle_nudge(job: Job) -> bool:
    item, now = job.item, job.now
    number = int(job.payload.get("nudge", 1))

    def nudge(session: Session) -> None:
        review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
        settings = review_settings.workspace_settings(session, team_id=item.team_id)
        next_at = working_days_later(
            now, settings.nudge_after_days, tz=review.timezone, hour=settings.review_hour
        )
        repo.nudge(
            session,
            team_id=item.team_id,
            review_id=item.subject_id,
            number=number,
            now=now,
            next_at=next_at,
            max_nudges=settings.max_nudges,
        )

    job.after_send.append(nudge)
    return False


def handle_expire(job: Job) -> bool:
    item = job.item

    def expire(session: Session) -> None:
        repo.expire(session, team_id=item.team_id, review_id=item.subject_id)

    job.after_send.append(expire)
    return False


# -- one message each ------------------------------------------------------------------------


def handle_ask(job: Job) -> bool:
    nudge = int(job.payload.get("nudge", 0))
    with job.db.read() as session:
        ask, review, decision, dms_off = review_answers.ask_to_send(
            session, team_id=job.item.team_id, ask_id=int(job.payload["ask_id"])
        )
    # Answered or cancelled meanwhile: nothing to ask. A dissenter's own question stands
    # after the outcome is in; a reminder never goes to someone who already answered.
    still_open = review.state == ReviewState.OPEN or (
        ask.role == repo.DISSENTER and review.state == ReviewState.ANSWERED and not nudge
    )
    if not still_open or (nudge and ask.answered_at is not None):
        return False
    if dms_off:
        return False  # turned DMs off since this was scheduled
    if ask.role == repo.OWNER:
        text, blocks = build_review_ask(decision, review, nudge)
    else:
        text, blocks = build_dissent_ask(decision, review, ask, nudge)
    try:
        resp = job.client.chat_postMessage(
            channel=ask.user_id, text=text, blocks=blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        # Mrkdwn: the template escapes plain strings, which would show "&lt;@U…&gt;".
        raise_if_permanent(exc, Mrkdwn(f"ask {mention(ask.user_id)} whether it worked"))
        raise
    channel_id, message_ts = str(resp["channel"]), str(resp["ts"])
    # Every question and reminder is a message of its own: each is kept, for redaction.
    job.landed(channel_id, message_ts)
    job.after_send.append(
        lambda session: review_answers.set_ask_message(
            session, ask=ask, channel_id=channel_id, message_ts=message_ts
        )
    )
    return True


def handle_thread(job: Job) -> bool:
    with job.db.read() as session:
        review, decision = _load(session, job.item)
        muted = repo.muted_askees(session, review=review)
        askees = [
            a.user_id
            for a in repo.asks(session, review=review)
            if a.role == repo.OWNER and a.user_id not in muted
        ]
    if not decision.message_ts or review.state == ReviewState.CANCELLED:
        return False
    try:
        job.client.chat_postMessage(
            channel=decision.channel_id,
            thread_ts=decision.message_ts,
            text=review_thread_open_text(decision, askees),
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, "post in the decision's thread")
        raise
    return True


def handle_outcome_note(job: Job[tuple[Review, Decision]]) -> bool:
    """The one-line summary of an outcome, in the decision's thread."""
    assert job.subject is not None  # its kind loads the review and its decision
    _review, decision = job.subject
    if not decision.message_ts:
        return False
    p = job.payload
    try:
        job.client.chat_postMessage(
            channel=decision.channel_id,
            thread_ts=decision.message_ts,
            text=review_outcome_thread_text(
                decision, p["user"], Outcome(p["outcome"]), p.get("what_happened", "")
            ),
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, "post the outcome in the decision's thread")
        raise
    return True


def handle_answered(job: Job) -> bool:
    """Turn one asked owner's DM into "answered by ..." (so no one answers twice)."""
    ask, review, decision = _ask(job)
    if not (ask.channel_id and ask.message_ts):
        return False
    text, blocks = build_answered(decision, review)
    job.client.chat_update(channel=ask.channel_id, ts=ask.message_ts, text=text, blocks=blocks)
    return True


def tell_author(session: Session, job: Job, failure: PermanentFailure) -> None:
    """A review message failed for good: the decision's author gets a DM saying what
    failed and how to fix it (an outbox row written with the failure)."""
    _review, decision = _load(session, job.item)
    failed: dict[str, str] = {
        ReviewWork.ASK: "ask whether it worked",
        ReviewWork.THREAD: "post in the decision's thread",
        ReviewWork.OUTCOME_NOTE: "post the outcome in the decision's thread",
    }
    what = failure.what or failed.get(job.item.kind, "send a follow-up")
    schedule_notice(
        session,
        team_id=decision.team_id,
        user_id=decision.author_id,
        text=render(
            "reviews/delivery_failed.md.j2",
            what=what,
            number=decision.number,
            error=failure.error,
            fix=FIXES.get(failure.error, "I won't retry this one."),
        ),
    )


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(ReviewWork.OPEN, handle_open, load=_load, scheduled=True),
        WorkKind(ReviewWork.NUDGE, handle_nudge, load=_load, scheduled=True),
        WorkKind(ReviewWork.EXPIRE, handle_expire, load=_load, scheduled=True),
        WorkKind(ReviewWork.ASK, handle_ask, load=_load, on_failure=tell_author, scheduled=True),
        WorkKind(
            ReviewWork.THREAD, handle_thread, load=_load, on_failure=tell_author, scheduled=True
        ),
        WorkKind(ReviewWork.OUTCOME_NOTE, handle_outcome_note, load=_load, on_failure=tell_author),
        WorkKind(ReviewWork.ANSWERED, handle_answered, load=_load),
    )
