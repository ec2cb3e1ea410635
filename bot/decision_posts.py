"""Posting and refreshing a decision's channel message (after the ack, never inside a DB unit)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import render
from bot.slack_calls import HOW_TO_FIX, POST_FAILED_OTHERWISE, dm, slack_error
from bot.views.decisions import build_decision_message
from storage import decisions as repo
from storage import reviews as reviews_repo
from storage.db import Database
from storage.models import Role

log = logging.getLogger(__name__)


def _record(
    db: Database, team: str, number: int
) -> tuple[repo.DecisionRecord, reviews_repo.ReviewSummary]:
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=number)
        record = repo.load_record(session, decision=decision, with_history=False)
        return record, reviews_repo.review_summary(session, decision=decision)


def post_decision(
    client: WebClient, db: Database, *, team: str, number: int, notify_informed: bool = True
) -> None:
    """Post ADR-n to its channel with the stance buttons; DM the informed.

    If Slack refuses the channel, the decision stays saved; the error is stored on the row and
    the author is told in one sentence how to fix it.
    """
    record, review = _record(db, team, number)
    d = record.decision
    text, blocks = build_decision_message(record, review)
    permalink = None
    try:
        resp = client.chat_postMessage(
            channel=d.channel_id, text=text, blocks=blocks, unfurl_links=False
        )
        ts = resp["ts"]
        with db.session() as session:
            repo.set_post_result(session, decision=d, message_ts=ts, error=None)
        try:
            permalink = client.chat_getPermalink(channel=resp["channel"], message_ts=ts)[
                "permalink"
            ]
        except SlackApiError:
            permalink = None
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("posting %s for team %s to %s failed: %s", d.ref, team, d.channel_id, error)
        with db.session() as session:
            repo.set_post_result(session, decision=d, message_ts=None, error=error)
        reason = HOW_TO_FIX.get(error, POST_FAILED_OTHERWISE).format(n=number, e=error)
        dm(
            client,
            d.author_id,
            render("post_failed.md.j2", number=number, channel=d.channel_id, reason=reason),
        )
    if notify_informed:
        for user in record.members.get(Role.INFORMED, []):
            dm(
                client,
                user,
                render(
                    "informed_dm.md.j2",
                    author=d.author_id,
                    number=d.number,
                    title=d.title,
                    status=d.status,
                    permalink=permalink or "",
                ),
            )


def refresh_decision_message(client: WebClient, db: Database, *, team: str, number: int) -> None:
    """Update the posted message in place (chat.update) so the tally and status are live.

    Two clicks at once render from different snapshots; re-reading after the update and
    updating again if the stances moved means the last update always shows the newest state.
    """
    for _ in range(3):
        with db.read() as session:
            before = repo.message_marker(session, team_id=team, number=number)
            decision = repo.get_decision(session, team_id=team, number=number)
            record = repo.load_record(session, decision=decision, with_history=False)
            review = reviews_repo.review_summary(session, decision=decision)
        d = record.decision
        if not d.message_ts:
            return
        text, blocks = build_decision_message(record, review)
        try:
            client.chat_update(channel=d.channel_id, ts=d.message_ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("chat.update %s (team %s) failed: %s", d.ref, team, slack_error(exc))
            return
        with db.read() as session:
            if repo.message_marker(session, team_id=team, number=number) == before:
                return
