"""Delivering "Did this decision work?" follow-ups: one handler per kind of due work.

Handlers run inside ``run_due`` after the row was claimed. Each sends at most one Slack
message, so if the process dies between Slack accepting it and the row being marked done,
the only message that can repeat is that one (the in-flight item). What a handler records
about the message it sent (``Delivery.after_send``) is written in the same transaction that
marks its row done.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlmodel import Session

from bot.render import Mrkdwn, mention, render
from bot.schedule import review_instant, working_days_later
from bot.slack_calls import dm, slack_error
from bot.views.reviews import build_dissent_ask, build_review_ask, review_thread_open_text
from storage import decisions as decision_repo
from storage import reviews as repo
from storage.db import Database
from storage.models import Decision, DueWork, Review, ReviewAsk, ReviewState, Role

log = logging.getLogger(__name__)

# How old the ask/review/decision rows loaded for a claimed batch may get before a handler
# reloads them (an answer given meanwhile must stop the remaining asks soon).
PREFETCH_MAX_AGE = 1.0  # seconds

AskRows = tuple[ReviewAsk, Review, Decision]


@dataclass
class Delivery:
    """What handlers work with during one sweep.

    ``after_send``: writes a handler wants made once its message went out (e.g. where the
    DM landed); ``run_due`` runs them in the transaction that marks the row done, so a
    delivered item costs one write transaction.

    ``prefetch(items)``: ``run_due`` loads the rows the claimed batch's asks need in one
    query instead of three per item; ``ask_rows`` hands them out, reloading whatever is
    left of the batch once they are older than ``PREFETCH_MAX_AGE`` or after a handler
    changed a review (``invalidate``).
    """

    db: Database
    client: WebClient
    now: datetime
    after_send: list[Callable[[Session], None]] = field(default_factory=list)
    _asks: dict[tuple[str, int], AskRows | None] = field(default_factory=dict)
    _loaded_at: float = 0.0

    def prefetch(self, items: Iterable[DueWork]) -> None:
        self._asks = {}
        for item in items:
            if item.kind == repo.ASK:
                ask_id = json.loads(item.payload or "{}").get("ask_id")
                if ask_id is not None:
                    self._asks[(item.team_id, int(ask_id))] = None
        self._load()

    def invalidate(self) -> None:
        self._loaded_at = 0.0

    def _load(self) -> None:
        wanted: dict[str, list[int]] = {}
        for team_id, ask_id in self._asks:
            wanted.setdefault(team_id, []).append(ask_id)
        self._asks = dict.fromkeys(self._asks)
        if wanted:
            with self.db.read() as session:
                for team_id, ask_ids in wanted.items():
                    for rows in _load_asks(session, team_id=team_id, ask_ids=ask_ids):
                        self._asks[(team_id, rows[0].id)] = rows  # type: ignore[index]
        self._loaded_at = time.monotonic()

    def ask_rows(self, team_id: str, ask_id: int) -> AskRows | None:
        """The prefetched (ask, review, decision), or None if this ask wasn't prefetched."""
        key = (team_id, ask_id)
        if key not in self._asks:
            return None
        if time.monotonic() - self._loaded_at > PREFETCH_MAX_AGE:
            self._load()
        return self._asks.pop(key)


def _load_asks(session: Session, *, team_id: str, ask_ids: list[int]) -> list[AskRows]:
    """Asks with their review and decision, in one query (all three in this workspace)."""
    rows = session.execute(
        select(ReviewAsk, Review, Decision)
        .join(Review, Review.id == ReviewAsk.review_id)
        .join(Decision, Decision.id == Review.decision_id)
        .where(
            ReviewAsk.team_id == team_id,
            Review.team_id == team_id,
            Decision.team_id == team_id,
            ReviewAsk.id.in_(ask_ids),
        )
    ).all()
    return [(ask, review, decision) for ask, review, decision in rows]


class PermanentFailure(Exception):
    """Slack refused for a reason retrying cannot fix; ``error`` is Slack's error code."""

    def __init__(self, error: str, what: str) -> None:
        super().__init__(error)
        self.error = error
        self.what = what


# -- scheduling a decision's review ----------------------------------------------------------


def resolve_timezone(client: WebClient, *, configured: str | None, people: list[str]) -> str:
    """The workspace's time zone if set, else the first decider's (or author's) Slack time
    zone from users.info, else UTC."""
    if configured:
        return configured
    for user in people:
        try:
            tz = client.users_info(user=user)["user"].get("tz")
        except SlackApiError as exc:
            log.info("users.info %s failed: %s", user, slack_error(exc))
            continue
        if tz:
            return str(tz)
    return "UTC"


def schedule_decision_review(
    client: WebClient, db: Database, *, team: str, number: int, actor: str
) -> None:
    """After a decision is saved or its review date changes: (re)schedule its review."""
    with db.read() as session:
        decision = decision_repo.get_decision(session, team_id=team, number=number)
        people = decision_repo.members(session, decision=decision)[Role.DECIDER] + [
            decision.author_id
        ]
        settings = repo.workspace_settings(session, team_id=team)
    if decision.review_date is None:
        return
    tz = resolve_timezone(client, configured=settings.timezone, people=people)
    due_at = review_instant(decision.review_date, tz=tz, hour=settings.review_hour)
    with db.session() as session:
        decision = decision_repo.get_decision(session, team_id=team, number=number, for_update=True)
        if decision.status in ("proposed", "accepted"):
            repo.schedule_review(
                session, decision=decision, due_at=due_at, timezone=tz, actor_id=actor
            )


# -- handlers --------------------------------------------------------------------------------


def _decision(session, review) -> Decision:  # noqa: ANN001
    return decision_repo.get_decision_by_id(
        session, team_id=review.team_id, decision_id=review.decision_id
    )


def handle_open(ctx: Delivery, item: DueWork) -> bool:
    with ctx.db.session() as session:
        review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
        settings = repo.workspace_settings(session, team_id=item.team_id)
        nudge_at = working_days_later(
            ctx.now, settings.nudge_after_days, tz=review.timezone, hour=settings.review_hour
        )
        repo.open_review(
            session, team_id=item.team_id, review_id=item.subject_id, now=ctx.now, nudge_at=nudge_at
        )
    return False


def handle_nudge(ctx: Delivery, item: DueWork) -> bool:
    number = int(json.loads(item.payload or "{}").get("nudge", 1))
    with ctx.db.session() as session:
        review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
        settings = repo.workspace_settings(session, team_id=item.team_id)
        next_at = working_days_later(
            ctx.now, settings.nudge_after_days, tz=review.timezone, hour=settings.review_hour
        )
        repo.nudge(
            session,
            team_id=item.team_id,
            review_id=item.subject_id,
            number=number,
            now=ctx.now,
            next_at=next_at,
            max_nudges=settings.max_nudges,
        )
    return False


def handle_expire(ctx: Delivery, item: DueWork) -> bool:
    with ctx.db.session() as session:
        repo.expire(session, team_id=item.team_id, review_id=item.subject_id)
    return False


def handle_ask(ctx: Delivery, item: DueWork) -> bool:
    payload = json.loads(item.payload or "{}")
    nudge = int(payload.get("nudge", 0))
    rows = ctx.ask_rows(item.team_id, int(payload["ask_id"]))
    if rows is None:  # not prefetched, or gone since: load it (NotFound if it is gone)
        with ctx.db.read() as session:
            ask = repo.get_ask(session, team_id=item.team_id, ask_id=int(payload["ask_id"]))
            review = repo.get_review(session, team_id=item.team_id, review_id=ask.review_id)
            decision = _decision(session, review)
    else:
        ask, review, decision = rows
    # Answered or cancelled meanwhile: nothing to ask. A dissenter's own question stands
    # after the outcome is in; a reminder never goes to someone who already answered.
    still_open = review.state == ReviewState.OPEN or (
        ask.role == repo.DISSENTER and review.state == ReviewState.ANSWERED and not nudge
    )
    if not still_open or (nudge and ask.answered_at is not None):
        return False
    if ask.role == repo.OWNER:
        text, blocks = build_review_ask(decision, review, nudge)
    else:
        text, blocks = build_dissent_ask(decision, review, ask, nudge)
    try:
        resp = ctx.client.chat_postMessage(
            channel=ask.user_id, text=text, blocks=blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        # Mrkdwn: the template escapes plain strings, which would show "&lt;@U…&gt;".
        raise_if_permanent(exc, Mrkdwn(f"ask {mention(ask.user_id)} whether it worked"))
        raise
    channel_id, message_ts = resp["channel"], resp["ts"]
    ctx.after_send.append(
        lambda session: repo.set_ask_message(
            session, ask=ask, channel_id=channel_id, message_ts=message_ts
        )
    )
    return True


def handle_thread(ctx: Delivery, item: DueWork) -> bool:
    with ctx.db.read() as session:
        review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
        decision = _decision(session, review)
        askees = [a.user_id for a in repo.asks(session, review=review) if a.role == repo.OWNER]
    if not decision.message_ts or review.state == ReviewState.CANCELLED:
        return False
    try:
        ctx.client.chat_postMessage(
            channel=decision.channel_id,
            thread_ts=decision.message_ts,
            text=review_thread_open_text(decision, askees),
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, "post in the decision's thread")
        raise
    return True


HANDLERS: dict[str, Callable[[Delivery, DueWork], bool]] = {
    repo.OPEN: handle_open,
    repo.ASK: handle_ask,
    repo.THREAD: handle_thread,
    repo.NUDGE: handle_nudge,
    repo.EXPIRE: handle_expire,
}


def raise_if_permanent(exc: SlackApiError, what: str) -> None:
    from bot.slack_calls import PERMANENT_ERRORS

    error = slack_error(exc)
    if error in PERMANENT_ERRORS:
        raise PermanentFailure(error, what) from exc


def tell_author_of_failure(ctx: Delivery, item: DueWork, failure: PermanentFailure) -> None:
    """Show a permanent failure to a human: the decision's author gets a DM."""
    try:
        with ctx.db.read() as session:
            review = repo.get_review(session, team_id=item.team_id, review_id=item.subject_id)
            decision = _decision(session, review)
    except Exception:  # noqa: BLE001 - the failure is recorded on the row regardless
        log.warning("no decision found for failed work item %s", item.id)
        return
    fixes = {
        "not_in_channel": "Invite me to the channel with `/invite @Decision Bot`.",
        "channel_not_found": "The channel is gone or private without me in it.",
        "is_archived": "The channel is archived.",
        "account_inactive": "That person's account is deactivated; their answer won't be asked again.",
        "user_not_found": "That person isn't in this workspace any more.",
    }
    dm(
        ctx.client,
        decision.author_id,
        render(
            "delivery_failed.md.j2",
            what=failure.what,
            number=decision.number,
            error=failure.error,
            fix=fixes.get(failure.error, "I won't retry this one."),
        ),
    )
