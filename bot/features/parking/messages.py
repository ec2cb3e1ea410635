"""What the parking lot says in plain messages: the answer to the person who parked, the DMs to\nthe requester, the resurfaced reminder, the scope watch's offer and its status."""

from __future__ import annotations

import json
import re

from bot.core.blocks import button, context, section
from bot.core.clock import slack_day
from bot.core.commands import unescape_refs
from bot.core.ids import Action
from bot.core.payloads import Blocks
from bot.core.render import render, truncate
from bot.features.parking.views import (
    TEXT_LIMIT,
    one_line,
    permalink_link,
    timeline_text,
)
from storage.models import ParkingItem

REQUEST_IN_TEXT = 300


PREVIEW_MAX = 200


_MESSAGE_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>|]*))?>")


_MESSAGE_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^<>|]*)?(?:\|([^<>]*))?>")


def _text(kind: str, **fields: object) -> str:
    return render("parking/notice.md.j2", kind=kind, limit=TEXT_LIMIT, **fields)


def parked_text(item: ParkingItem) -> str:
    """In the thread (or to whoever parked it): "Parked as P-12", who triages it, and how."""
    return _text(
        "parked",
        ref=item.ref,
        requester=item.requester_id or "",
        request=one_line(item.request, REQUEST_IN_TEXT),
        channel=item.channel_id,
    )


def accepted_dm(item: ParkingItem) -> str:
    """To the requester: their request was let into scope, with its timeline impact."""
    return _text(
        "accepted",
        ref=item.ref,
        request=one_line(item.request, REQUEST_IN_TEXT),
        decided_by=item.decided_by or "",
        timeline=timeline_text(item.timeline_days),
        link=permalink_link(item.permalink),
    )


def declined_dm(item: ParkingItem) -> str:
    """To the requester, kindly, with the reason."""
    return _text(
        "declined",
        ref=item.ref,
        request=one_line(item.request, REQUEST_IN_TEXT),
        decided_by=item.decided_by or "",
        reason=item.reason or "no reason given",
        channel=item.channel_id,
    )


def resurfaced_text(item: ParkingItem) -> str:
    """A deferred item back in its channel on its date."""
    return _text(
        "resurfaced",
        ref=item.ref,
        request=one_line(item.request, REQUEST_IN_TEXT),
        requester=item.requester_id or "",
        until=slack_day(item.deferred_until) if item.deferred_until else "",
    )


def _readable(message_text: str) -> str:
    """A message as Slack sends it (mrkdwn) as plain words: mentions and ``<!here>`` become
    ``@name`` / ``@here``, links their URL, entities their character (escaped again later)."""
    text = _MESSAGE_MENTION.sub(
        lambda m: "@" + ((m.group(2) or "").strip() or m.group(1)), message_text
    )
    text = _MESSAGE_SPECIAL.sub(lambda m: "@" + ((m.group(2) or "").strip() or m.group(1)), text)
    return unescape_refs(text)


def watch_offer_blocks(message_text_preview: str, channel: str, ts: str) -> tuple[str, Blocks]:
    """The ephemeral offer to a message's author: the message quoted and a **Park it** button
    whose value is ``{"channel": ..., "ts": ...}`` (read back with ``offer_from``)."""
    preview = truncate(_readable(message_text_preview or "").strip(), PREVIEW_MAX)
    text = _text("offer", preview="")
    value = json.dumps({"channel": channel, "ts": ts})
    blocks = [
        section(_text("offer", preview=preview)),
        {
            "type": "actions",
            "block_id": "parking.offer",
            "elements": [button("Park it", Action.PARK_OFFER, value, "primary")],
        },
        context("Only you can see this. `/parkinglot watch off` turns these offers off here."),
    ]
    return text, blocks


def offer_from(value: str) -> tuple[str, str] | None:
    """(channel, ts) from a **Park it** button's value; None if it isn't one."""
    try:
        data = json.loads(value or "")
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    channel, ts = data.get("channel"), data.get("ts")
    if isinstance(channel, str) and isinstance(ts, str) and channel and ts:
        return channel, ts
    return None


def watch_status_text(
    *,
    channel_id: str,
    enabled: bool,
    changed_by: str | None = None,
    changed: bool = False,
    not_in_channel: bool = False,
    in_dm: bool = False,
) -> str:
    """`/parkinglot watch [on|off]`: whether it is on here (and who turned it), that it was
    just turned on/off (``changed``), "invite me first", or that DMs are never watched."""
    return _text(
        "watch",
        channel=channel_id,
        enabled=enabled,
        changed_by=changed_by or "",
        changed=changed,
        not_in_channel=not_in_channel,
        in_dm=in_dm,
    )
