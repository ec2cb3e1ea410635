"""Events that keep what the bot knows about the workspace current: who people are
(`user_change`, `team_join`) and what channels are (shared with another organisation,
archived, made private).

Each handler writes its event's de-duplication mark in the same transaction as what the
event changes (storage.events): a retry of a handled event changes nothing, and a failed
transaction leaves no mark behind.
"""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.core.errors import guarded
from bot.core.payloads import ChannelEvent, MessageEvent, UserEvent
from storage import channels, events
from storage import people as people_repo
from storage.channels import ChannelFacts
from storage.db import Database

log = logging.getLogger(__name__)

# event type -> what it says about the channel
CHANNEL_EVENTS: dict[str, ChannelFacts] = {
    "channel_shared": ChannelFacts(shared=True),
    "channel_unshared": ChannelFacts(),  # may still be shared with someone else: read below
    "channel_archive": ChannelFacts(archived=True),
    "group_archive": ChannelFacts(private=True, archived=True),
    "channel_unarchive": ChannelFacts(archived=False),
    "group_unarchive": ChannelFacts(private=True, archived=False),
}


def register(app: App) -> None:
    app.event("user_change")(guarded(handle_user))
    app.event("team_join")(guarded(handle_user))
    for name in CHANNEL_EVENTS:
        app.event(name)(guarded(handle_channel_event))
    # A channel made private is announced as a message with this subtype (message.channels).
    app.event({"type": "message", "subtype": "channel_convert_to_private"})(
        guarded(handle_made_private)
    )
    # Every other message event goes to the parking lot's watch (bot/features/parking/listeners.py),
    # which drops it before any database write unless its channel is watched.


def handle_user(event: UserEvent, db: Database, team: str, event_id: str) -> None:
    user = event.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        return
    with db.session() as session:
        if events.first_delivery(session, team_id=team, event_id=event_id):
            people_repo.upsert_users(session, team_id=team, users=[user])


def handle_channel_event(event: ChannelEvent, db: Database, team: str, event_id: str) -> None:
    channel = event.get("channel")
    if isinstance(channel, dict):  # some events carry the channel object
        channel = channel.get("id")
    if not channel:
        return
    facts = CHANNEL_EVENTS.get(str(event.get("type")), ChannelFacts())
    if event.get("type") == "channel_unshared":
        facts = ChannelFacts(shared=bool(event.get("is_ext_shared")))
    with db.session() as session:
        if events.first_delivery(session, team_id=team, event_id=event_id):
            made_private = channels.record(
                session, team_id=team, channel_id=str(channel), facts=facts
            )
            if made_private:
                log.info(
                    "%s: %d decisions in %s are private now", event["type"], made_private, channel
                )


def handle_made_private(event: MessageEvent, db: Database, team: str, event_id: str) -> None:
    channel = event.get("channel")
    if not channel:
        return
    with db.session() as session:
        if events.first_delivery(session, team_id=team, event_id=event_id):
            made_private = channels.record(
                session, team_id=team, channel_id=str(channel), facts=ChannelFacts(private=True)
            )
            log.info("channel %s made private: %d decisions follow", channel, made_private)
