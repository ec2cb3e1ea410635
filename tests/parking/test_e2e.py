"""The parking lot end to end over signed HTTP, on SQLite and Postgres: capture from a
message (shortcut -> modal -> item with the message's permalink, answered in the thread),
`/parkinglot <text>`, RICE and sorting, every transition and who may make it, deferred items
resurfacing once, the scope-creep watch, isolation and escaping."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from bot.core.ids import Action, Callback, ParkField
from storage.db import Database
from storage.models import utcnow
from tests.support.adr import Adr, all_text, ephemeral, unescaped_markup
from tests.support.delivery import settle, sweep
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import SlackEmulator


def park(slack: SlackDriver, text: str, *, user: str = "UALICE", channel: str = "CGENERAL") -> str:
    return ephemeral(slack.command(text, command="/parkinglot", user=user, channel=channel))


def item(adr: Adr, number: int, team: str = "TAAA") -> dict[str, Any]:
    [row] = adr.rows(
        "SELECT * FROM parking_items WHERE team_id = :t AND number = :n", t=team, n=number
    )
    return row


def kinds(adr: Adr, number: int) -> list[str]:
    return [
        r["kind"]
        for r in adr.rows(
            "SELECT e.kind FROM parking_events e JOIN parking_items i ON i.id = e.item_id "
            "WHERE i.number = :n AND i.team_id = 'TAAA' ORDER BY e.id",
            n=number,
        )
    ]


def click(
    slack: SlackDriver, action: str, number: int, *, user: str = "UALICE", channel: str = "CGENERAL"
):
    return slack.click(action, str(number), user=user, channel=channel)


def triage(
    slack: SlackDriver,
    action: str,
    number: int,
    values: dict[str, Any],
    *,
    user: str = "UALICE",
    channel: str = "CGENERAL",
):
    before = slack.views_opened()
    reply = click(slack, action, number, user=user, channel=channel)
    assert reply.status == 200 and reply.text == "", reply.text
    view = slack.opened_view(after=before)
    return slack.submit(view, values, user=user)


def test_a_message_is_parked_from_the_shortcut_with_its_permalink_and_answered_in_thread(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    before = slack.views_opened()
    reply = slack.message_shortcut(
        Callback.PARK_SHORTCUT, text="Can we also add CSV export? <!channel>", user="UALICE"
    )
    assert reply.status == 200
    view = slack.opened_view(after=before)
    filled = {ParkField.WHY: "Finance asks every month", ParkField.REACH: "40"}
    assert slack.submit(view, filled, user="UALICE").text == ""
    settle(slack)
    row = item(adr, 1)
    assert row["request"] == "Can we also add CSV export? <!channel>"  # stored as typed
    assert row["requester_id"] == "UBOB" and row["parked_by"] == "UALICE"
    assert row["thread_ts"] == "1700000001.000100"
    assert row["permalink"] and "1700000001000100" in row["permalink"].replace(".", "")
    assert row["rice"] is None  # partial RICE: unscored
    [answer] = [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("thread_ts") == "1700000001.000100"
    ]
    assert "P-1" in all_text(answer.args) and unescaped_markup(answer.args) == []
    assert kinds(adr, 1) == ["parked"]


def test_when_the_bot_is_not_in_the_channel_the_answer_goes_privately(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_channel("CELSE", is_member=False)
    before = slack.views_opened()
    slack.message_shortcut(
        Callback.PARK_SHORTCUT, text="One more thing: dark mode", channel="CELSE"
    )
    view = slack.opened_view(after=before)
    assert slack.submit(view, {}, user="UALICE").text == ""
    settle(slack)
    said = [c for c in emulator.calls("response_url") if "P-1" in all_text(c.args)]
    assert len(said) == 1 and said[0].args["response_type"] == "ephemeral"
    assert item(adr, 1)["state"] == "parked"


def test_rice_sorting_transitions_and_who_may_make_them(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    assert "P-1" in park(slack, "Dark mode <@UBOB>")
    assert "P-2" in park(slack, "SSO for admins")
    assert "P-3" in park(slack, "Bulk import")
    assert item(adr, 1)["requester_id"] == "UBOB"
    # bad scores are inline errors; a full score gives RICE = reach x impact x conf / effort
    reply = triage(slack, Action.PARK_SCORE, 2, {ParkField.EFFORT: "0"})
    assert reply.json()["response_action"] == "errors"
    score = {
        ParkField.REACH: "500",
        ParkField.IMPACT: "2",
        ParkField.CONFIDENCE: "80",
        ParkField.EFFORT: "4",
    }
    assert triage(slack, Action.PARK_SCORE, 2, score).text == ""
    assert item(adr, 2)["rice"] == 200.0
    low = {
        ParkField.REACH: "10",
        ParkField.IMPACT: "1",
        ParkField.CONFIDENCE: "50",
        ParkField.EFFORT: "1",
    }
    assert triage(slack, Action.PARK_SCORE, 3, low).text == ""
    assert item(adr, 3)["rice"] == 5.0
    listed = park(slack, "list by rice")
    order = [listed.index(f"P-{n}") for n in (2, 3, 1)]
    assert order == sorted(order), listed  # scored first, highest RICE first; unscored after
    assert "unscored" in listed.lower()

    # only the channel's members (acting from it), the requester and admins act
    refused = click(slack, Action.PARK_DONE, 2, user="UCAROL", channel="COTHER")
    assert "belongs to" in all_text(refused.json() or {}) or emulator.wait_for(
        "response_url", where=lambda c: "belongs to" in all_text(c.args)
    )
    assert item(adr, 2)["state"] == "parked"
    # accept with the timeline impact, stored as a number; the requester is told
    reply = triage(slack, Action.PARK_ACCEPT, 1, {ParkField.TIMELINE: "lots"})
    assert reply.json()["response_action"] == "errors"
    assert triage(slack, Action.PARK_ACCEPT, 1, {ParkField.TIMELINE: "+3d"}).text == ""
    row = item(adr, 1)
    assert (row["state"], row["timeline_days"]) == ("accepted", 3.0)
    settle(slack)
    [dm] = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "UBOB"]
    assert "P-1" in all_text(dm.args)
    # decline needs a reason, and tells the requester kindly (P-2 was parked by Alice for herself)
    reply = triage(slack, Action.PARK_DECLINE, 3, {ParkField.REASON: ""})
    assert reply.json()["response_action"] == "errors"
    assert triage(slack, Action.PARK_DECLINE, 3, {ParkField.REASON: "Not this quarter"}).text == ""
    assert item(adr, 3)["state"] == "declined" and item(adr, 3)["reason"] == "Not this quarter"
    # withdraw is the requester's alone
    assert click(slack, Action.PARK_WITHDRAW, 2, user="UCAROL").status == 200
    assert item(adr, 2)["state"] == "parked"
    assert click(slack, Action.PARK_WITHDRAW, 2, user="UALICE").status == 200
    assert item(adr, 2)["state"] == "withdrawn"
    # a final state changes no more
    click(slack, Action.PARK_DONE, 3)
    assert item(adr, 3)["state"] == "declined"
    assert kinds(adr, 1) == ["parked", "accepted"]
    assert kinds(adr, 2) == ["parked", "scored", "withdrawn"]
    # an admin may act from anywhere
    emulator.set_user("UADMIN", is_admin=True)
    adr.run("help", user="UADMIN")  # any /adr command: Slack is asked who they are
    adr.run("list", user="UADMIN")
    assert click(slack, Action.PARK_DONE, 1, user="UADMIN", channel="CELSEWHERE").status == 200
    assert item(adr, 1)["state"] == "done"


def test_a_deferred_item_comes_back_once_at_its_date(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    park(slack, "Offline mode")
    day = (utcnow() + timedelta(days=10)).date()
    reply = triage(
        slack,
        Action.PARK_DEFER,
        1,
        {ParkField.UNTIL: (utcnow() - timedelta(days=1)).date().isoformat()},
    )
    assert reply.json()["response_action"] == "errors"  # not in the past
    assert triage(slack, Action.PARK_DEFER, 1, {ParkField.UNTIL: day.isoformat()}).text == ""
    assert item(adr, 1)["state"] == "deferred"
    settle(slack)
    posted = len(emulator.calls("chat.postMessage"))
    sweep(slack, db, utcnow() + timedelta(days=5))
    assert len(emulator.calls("chat.postMessage")) == posted  # not yet
    when = utcnow() + timedelta(days=11)
    sweep(slack, db, when)
    sweep(slack, db, when)
    back = [c for c in emulator.calls("chat.postMessage")[posted:] if "P-1" in all_text(c.args)]
    assert len(back) == 1 and back[0].args["channel"] == "CGENERAL"
    assert item(adr, 1)["state"] == "parked"
    assert kinds(adr, 1) == ["parked", "deferred", "resurfaced"]


def test_the_watch_offers_the_author_only_rate_limited_and_only_where_on(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    creep = {
        "type": "message",
        "channel": "CPROJ",
        "channel_type": "channel",
        "user": "UBOB",
        "text": "while we're at it, can we also add SSO?",
        "ts": "1700000100.000001",
    }
    # not watched: nothing at all, and nothing written (checked once the app finished)
    slack.event({**creep, "channel": "CQUIET"}, event_id="EvW0")
    # watch on in a channel the bot is not in: invite me first
    emulator.set_channel("CNOTIN", is_member=False)
    assert "nvite" in park(slack, "watch on", channel="CNOTIN")
    assert adr.count("parking_watches") == 0
    assert "on" in park(slack, "watch on", user="UCAROL", channel="CPROJ")
    [watch] = adr.rows("SELECT * FROM parking_watches")
    assert watch["changed_by"] == "UCAROL" and watch["enabled"]

    slack.event(creep, event_id="EvW1")
    [offer] = emulator.wait_for("chat.postEphemeral")
    assert offer.args["user"] == "UBOB" and offer.args["channel"] == "CPROJ"
    # Park it opens the form with the message as the request
    [button] = [e for b in offer.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    before = slack.views_opened()
    slack.click(button["action_id"], button["value"], user="UBOB", channel="CPROJ")
    view = slack.opened_view(after=before)
    assert "can we also add SSO" in json.dumps(view)
    assert slack.submit(view, {}, user="UBOB").text == ""
    assert item(adr, 1)["channel_id"] == "CPROJ"
    # the same person again within the hour: no second offer; bots, edits, chatter: none;
    # someone else: yes. All are handled (listeners done) before the watch is turned off.
    slack.event({**creep, "ts": "1700000100.000002"}, event_id="EvW2")
    slack.event({**creep, "bot_id": "B1", "ts": "1700000100.000004"}, event_id="EvW4")
    slack.event({**creep, "subtype": "message_changed", "ts": "1700000100.000005"}, event_id="EvW5")
    slack.event(
        {**creep, "user": "UEVE", "text": "lunch?", "ts": "1700000100.000006"}, event_id="EvW6"
    )
    slack.event(
        {**creep, "channel": "DBOB", "channel_type": "im", "ts": "1700000100.000008"},
        event_id="EvW8",
    )
    slack.event({**creep, "user": "UDAN", "ts": "1700000100.000003"}, event_id="EvW3")
    emulator.wait_for("chat.postEphemeral", count=2)
    slack.listeners_done()  # every event above was handled while the watch was on
    # off: nothing more
    assert "off" in park(slack, "watch off", channel="CPROJ")
    slack.event({**creep, "user": "UFAY", "ts": "1700000100.000007"}, event_id="EvW7")
    slack.finish()
    assert [o.args["user"] for o in emulator.calls("chat.postEphemeral")] == ["UBOB", "UDAN"]
    marks = {r["event_id"] for r in adr.rows("SELECT event_id FROM processed_events")}
    # only scope-like messages in a watched channel wrote anything (their de-duplication mark)
    assert marks == {"EvW1", "EvW2", "EvW3"}


def test_isolation_visibility_and_escaping(adr: Adr, slack: SlackDriver, emulator: SlackEmulator):
    emulator.set_channel("CPRIV", is_private=True)
    park(slack, "Secret <!channel> thing", channel="CPRIV")
    park(slack, "Public thing")
    settle(slack)
    assert item(adr, 1)["channel_private"] and not item(adr, 2)["channel_private"]
    listed = park(slack, "list all", user="UCAROL")
    assert re.findall(r"\*P-(\d+)\*", listed) == ["2"]
    assert "doesn't exist" in park(slack, "show P-1", user="UCAROL")
    shown = slack.command("show P-1", command="/parkinglot", user="UCAROL", channel="CPRIV")
    assert "Secret" in ephemeral(shown) and unescaped_markup(shown.json()) == []
    other = ephemeral(slack.command("show P-2", command="/parkinglot", team="TBBB"))
    assert "doesn't exist" in other


def test_every_message_of_a_thread_is_its_own_offer_and_dms_off_is_respected(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    assert "on" in park(slack, "watch on", channel="CPROJ")
    base = {
        "type": "message",
        "channel": "CPROJ",
        "channel_type": "channel",
        "text": "one more thing: can we also add SSO?",
        "thread_ts": "1700000200.000001",
    }
    slack.event({**base, "user": "UBOB", "ts": "1700000200.000002"}, event_id="EvT1")
    slack.event({**base, "user": "UDAN", "ts": "1700000200.000003"}, event_id="EvT2")
    offers = emulator.wait_for("chat.postEphemeral", count=2)
    assert sorted(o.args["user"] for o in offers) == ["UBOB", "UDAN"]

    # the requester turned DMs off: accepting their item does not DM them
    slack.command("dm off", user="UBOB")
    park(slack, "Dark mode <@UBOB>")
    assert triage(slack, Action.PARK_ACCEPT, 1, {ParkField.TIMELINE: "+2d"}).text == ""
    slack.finish()
    assert not [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "UBOB"]
    assert item(adr, 1)["state"] == "accepted"
