"""A channel made private while a record's first post is in flight: the record stays private,
and so does the channel, whichever transaction commits first. Over signed HTTP against the
Slack emulator (Slack's answer held open while the real `channel_convert_to_private` event
arrives), on SQLite and Postgres; for a decision, an estimate round and a parked item."""

from __future__ import annotations

from typing import Any

from tests.support.adr import Adr, ephemeral
from tests.support.delivery import settle

MADE_PRIVATE = {
    "type": "message",
    "subtype": "channel_convert_to_private",
    "channel": "CPUB",
    "user": "UALICE",
    "text": "made this channel *private*.",
    "ts": "1730984822.596869",
}


def _make_private_while(emulator: Any, slack: Any, method: str) -> None:
    """Once the bot's ``method`` call (held open by the emulator) has reached Slack, the
    channel becomes private; then let Slack answer."""
    emulator.wait_for(method, where=lambda c: c.args.get("channel") == "CPUB")
    assert slack.event(MADE_PRIVATE, event_id="EvPrivate").status == 200
    slack.listeners_done()


def _channel_private(adr: Adr) -> bool:
    [row] = adr.rows("SELECT is_private FROM channels WHERE channel_id = 'CPUB'")
    return bool(row["is_private"])


def test_a_decision_posted_while_its_channel_goes_private_stays_private(adr: Adr, slack, emulator):
    emulator.fail("chat.postMessage", delay=1.5)
    adr.new("Open plan", channel="CPUB", posted=False)
    _make_private_while(emulator, slack, "chat.postMessage")
    adr.wait_recorded(1)
    settle(slack)
    assert bool(adr.decision(1)["channel_private"]) is True
    assert _channel_private(adr)
    assert "ADR-1" not in adr.run("list", user="UCAROL")  # not a member, asking elsewhere
    assert "ADR-1" in adr.run("list", user="UCAROL", channel="CPUB")


def test_a_round_posted_while_its_channel_goes_private_stays_private(adr: Adr, slack, emulator):
    emulator.fail("chat.postMessage", delay=1.5)
    started = ephemeral(slack.command("Migrate the DB @UBOB", command="/estimate", channel="CPUB"))
    assert "E-1" in started
    _make_private_while(emulator, slack, "chat.postMessage")
    settle(slack)
    [rnd] = adr.rows("SELECT channel_private, message_ts FROM estimate_rounds")
    assert rnd["message_ts"] and bool(rnd["channel_private"]) is True
    assert _channel_private(adr)
    listed = ephemeral(slack.command("list", command="/estimate", user="UCAROL"))
    assert "E-1" not in listed


def test_an_item_parked_while_its_channel_goes_private_stays_private(adr: Adr, slack, emulator):
    emulator.fail("conversations.info", delay=1.5)
    parked = ephemeral(
        slack.command("Can we also export CSV?", command="/parkinglot", channel="CPUB")
    )
    assert "P-1" in parked
    _make_private_while(emulator, slack, "conversations.info")
    settle(slack)
    [item] = adr.rows("SELECT channel_private FROM parking_items")
    assert bool(item["channel_private"]) is True
    assert _channel_private(adr)
    listed = ephemeral(slack.command("list", command="/parkinglot", user="UCAROL"))
    assert "P-1" not in listed
