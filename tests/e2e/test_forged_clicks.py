"""Buttons and modal metadata Slack would never send (a leaked signing secret, a buggy client)
reach nothing private: every button and modal loads its record through the rule list, search
and show use, or answers only the person the bot sent it to; a refused click is answered as
for a record that does not exist. Over signed HTTP, SQLite and Postgres."""

from __future__ import annotations

import json

from bot.core.ids import Action, EstimateField, Field
from tests.support.adr import Adr, ephemeral


def _private(emulator) -> None:
    emulator.set_channel("CPRIV", is_private=True)


def _answer(reply, emulator) -> str:
    """What the clicker was told: the HTTP answer or the click's response_url message."""
    clicks = [c for c in emulator.calls("response_url") if c.key.startswith("act")]
    return reply.text + json.dumps([c.args for c in clicks])


def test_stance_buttons_naming_a_private_decision_from_elsewhere_do_nothing(
    adr: Adr, slack, emulator
):
    _private(emulator)
    adr.new("Layoffs plan", channel="CPRIV")
    before = slack.views_opened()
    agree = slack.click(Action.AGREE, "1", user="UOUT", channel="CGENERAL")
    block = slack.click(Action.BLOCK, "1", user="UOUT", channel="CGENERAL")
    slack.listeners_done()
    assert adr.stances(1) == {}
    assert slack.views_opened() == before
    answers = _answer(agree, emulator) + _answer(block, emulator)
    assert "ADR-1 doesn't exist" in answers and "Layoffs" not in answers
    # from the channel itself, a member's click counts
    slack.click(Action.AGREE, "1", user="UMEMBER", channel="CPRIV")
    adr.wait_update(lambda c: "Agree *1*" in json.dumps(c.args["blocks"]))
    assert set(adr.stances(1)) == {"UMEMBER"}


def test_a_forged_stance_form_naming_a_private_decision_saves_nothing(adr: Adr, slack, emulator):
    _private(emulator)
    adr.new("Layoffs plan", channel="CPRIV")
    adr.new("Lunch menu", channel="CGENERAL")
    before = slack.views_opened()
    slack.click(Action.BLOCK, "2", user="UOUT", channel="CGENERAL")
    view = slack.opened_view(after=before)
    forged = {**view, "private_metadata": json.dumps({"number": 1, "channel": "CGENERAL"})}
    body = slack.submit(forged, {Field.REASON: "no"}, user="UOUT").json()
    assert body["response_action"] == "errors"
    assert "ADR-1 doesn't exist" in json.dumps(body)
    assert adr.stances(1) == {}


def test_add_my_estimate_naming_a_private_round_from_elsewhere_opens_nothing(
    adr: Adr, slack, emulator
):
    _private(emulator)
    started = ephemeral(slack.command("Reorg @UBOB", command="/estimate", channel="CPRIV"))
    assert "E-1" in started
    before = slack.views_opened()
    reply = slack.click(Action.ESTIMATE_ADD, "1", user="UOUT", channel="CGENERAL")
    slack.listeners_done()
    assert slack.views_opened() == before
    answer = _answer(reply, emulator)
    assert "E-1 doesn't exist" in answer and "Reorg" not in answer
    # a forged estimate form for it saves nothing either
    slack.command("Lunch @UBOB", command="/estimate", channel="CGENERAL")
    slack.click(Action.ESTIMATE_ADD, "2", user="UOUT", channel="CGENERAL")
    view = slack.opened_view(after=before)
    forged = {**view, "private_metadata": json.dumps({"round": 1, "channel": "CGENERAL"})}
    values = {f"t0_{k}": "1" for k in ("best", "likely", "worst")}
    values[EstimateField.CONFIDENCE] = "80"
    values[EstimateField.FAMILIARITY] = "similar"
    body = slack.submit(forged, values, user="UOUT").json()
    assert body["response_action"] == "errors"
    assert adr.count("estimates") == 0


def test_park_it_naming_someone_elses_private_message_prefills_nothing(adr: Adr, slack, emulator):
    _private(emulator)
    assert "on" in ephemeral(slack.command("watch on", command="/parkinglot", channel="CPRIV"))
    creep = {
        "type": "message",
        "channel": "CPRIV",
        "channel_type": "group",
        "user": "UBOB",
        "text": "while we're at it, can we also cut the Berlin office?",
        "ts": "1700000100.000001",
    }
    slack.event(creep, event_id="EvForge1")
    [offer] = emulator.wait_for("chat.postEphemeral")
    [button] = [e for b in offer.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    before = slack.views_opened()
    slack.click(button["action_id"], button["value"], user="UOUT", channel="CGENERAL")
    view = slack.opened_view(after=before)
    assert "Berlin" not in json.dumps(view)
    # the person it was offered to, where it was offered: prefilled
    slack.click(button["action_id"], button["value"], user="UBOB", channel="CPRIV")
    assert "Berlin office" in json.dumps(slack.opened_view(after=before + 1))
