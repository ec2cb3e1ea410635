"""The parking lot's outbox work: telling the person a request was parked, bringing deferred
items back to their channel, and the watch's ephemeral "Park it" offer. Registered with the
engine by ``register_work``; each handler sends at most one message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core.slack_api import conversation_facts, slack_error
from bot.engine.registry import Job, Registry, WorkKind, raise_if_permanent
from bot.features.parking import messages
from storage import channels
from storage import parking as repo
from storage.models import DueWork, ParkingItem, ParkingState, saved_id
from storage.notices import schedule_confirmation
from storage.parking_work import ParkingWork

log = logging.getLogger(__name__)

# the bot can't post there: the answer goes privately instead
NOT_THERE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


def _load(session: Session, item: DueWork) -> ParkingItem:
    return repo.get_item_by_id(session, team_id=item.team_id, item_id=item.subject_id)


def handle_ack(job: Job) -> bool:
    """Read the new item's channel (its privacy: it was saved as private until now) and the
    message's permalink, then say "Parked as P-12": in the message's thread when it was
    parked from a message and the bot may post there; else to the person who parked it, where
    they asked or by DM (``notice.confirm``). Parked with `/parkinglot <text>`, the command's
    own answer said so."""
    with job.db.read() as session:
        item = _load(session, job.item)
    facts = conversation_facts(job.client, item.channel_id)
    permalink = None
    if item.thread_ts:
        try:
            permalink = job.client.chat_getPermalink(
                channel=item.channel_id, message_ts=item.thread_ts
            )["permalink"]
        except SlackApiError:
            permalink = None

    def remember(session: Session) -> None:
        current = _load(session, job.item)
        private = channels.privacy_after_post(
            session, team_id=current.team_id, channel_id=current.channel_id, facts=facts
        )
        repo.set_post_result(session, item=current, private=private)
        if permalink and not current.permalink:
            current.permalink = permalink[:500]
            session.add(current)

    job.after_send.append(remember)
    confirm = job.payload.get("confirm")
    if not isinstance(confirm, dict):
        return False
    text = messages.parked_text(item)
    if item.thread_ts:
        try:
            job.client.chat_postMessage(
                channel=item.channel_id, thread_ts=item.thread_ts, text=text, unfurl_links=False
            )
            return True
        except SlackApiError as exc:
            if slack_error(exc) not in NOT_THERE:
                raise
            log.info(
                "%s: can't answer in the thread (%s); answering privately",
                item.ref,
                slack_error(exc),
            )
    asked = confirm.get("asked_at")

    def tell_privately(session: Session) -> None:
        schedule_confirmation(
            session,
            team_id=item.team_id,
            user_id=item.parked_by,
            text=text,
            key=f"parking:{item.id}:confirm",
            subject_id=saved_id(item),
            response_url=str(confirm.get("response_url") or "") or None,
            asked_at=datetime.fromtimestamp(asked, UTC) if isinstance(asked, int) else None,
        )

    job.after_send.append(tell_privately)
    return False


def handle_resurface(job: Job) -> bool:
    with job.db.read() as session:
        item = _load(session, job.item)
    today = job.now.date()
    if (
        item.state != ParkingState.DEFERRED
        or item.deferred_until is None
        or item.deferred_until > today
    ):
        return False  # decided meanwhile, or deferred again to a later day
    text = messages.resurfaced_text(item)
    try:
        job.client.chat_postMessage(channel=item.channel_id, text=text, unfurl_links=False)
    except SlackApiError as exc:
        raise_if_permanent(exc, f"bring {item.ref} back to <#{item.channel_id}>")
        raise

    def parked_again(session: Session) -> None:
        repo.resurface(session, item=_load(session, job.item), today=today)

    job.after_send.append(parked_again)
    return True


def handle_offer(job: Job) -> bool:
    p = job.payload
    text, blocks = messages.watch_offer_blocks(p["text"], p["channel"], p["ts"])
    job.client.chat_postEphemeral(channel=p["channel"], user=p["user"], text=text, blocks=blocks)
    return True


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(ParkingWork.ACK, handle_ack, load=_load),
        WorkKind(ParkingWork.RESURFACE, handle_resurface, load=_load, scheduled=True),
        WorkKind(ParkingWork.OFFER, handle_offer),
    )
