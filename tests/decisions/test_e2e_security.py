"""`/adr` security end to end, on SQLite and Postgres: request signatures, escaping of user text,
workspace isolation and private-channel visibility."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from bot.core.ids import Action, Field
from tests.support.adr import (
    ESCAPED,
    RAW,
    Adr,
    all_text,
    ephemeral,
    listed_numbers,
    stray_brackets,
    unescaped_markup,
)
from tests.support.harness import sign

# -- signatures --------------------------------------------------------------------------------

BAD_SIGNATURES = {
    "unsigned": lambda: {"signed": False},
    "wrong-secret": lambda: {"secret": "not-the-signing-secret"},
    "stale-6-minutes": lambda: {"timestamp": int(time.time()) - 6 * 60},
    "future-6-minutes": lambda: {"timestamp": int(time.time()) + 6 * 60},
}


@pytest.mark.parametrize("bad", list(BAD_SIGNATURES))
def test_badly_signed_requests_get_401_and_change_nothing(adr: Adr, slack, emulator, bad):
    kw = BAD_SIGNATURES[bad]()
    view = adr.open_form("new Signed only")
    slack.listeners_done()  # the form's own "Post in" check, after it opened
    filled = {Field.DECISION: "Only Slack may submit this."}
    calls_before = len(emulator.calls())

    # a complete, valid submission — but not signed by Slack
    assert slack.submit(view, filled, **kw).status == 401
    assert slack.command("new Forged", **kw).status == 401
    assert slack.command("list", **kw).status == 401
    event = {"type": "app_home_opened", "user": "UALICE", "channel": "D1", "tab": "home"}
    body = json.dumps(
        {"type": "event_callback", "team_id": "TAAA", "event_id": "EvX", "event": event}
    )
    assert slack.post(body, content_type="application/json", **kw).status == 401
    assert slack.click(Action.AGREE, "1", **kw).status == 401
    # a signature over a different body does not carry over
    other = urlencode({"command": "/adr", "text": "new A", "team_id": "TAAA", "user_id": "UALICE"})
    assert slack.post(other, signed=False, headers=sign("something else")).status == 401

    assert emulator.calls()[calls_before:] == []
    assert adr.count("decisions") == 0
    assert adr.count("decision_events") == 0
    assert adr.count("processed_events") == 0

    # the very same submission, signed, is accepted: the payloads above were not the problem
    assert slack.submit(view, filled).status == 200
    adr.wait_post("ADR-1: Signed only", channel="CGENERAL")
    assert adr.count("decisions") == 1


def test_badly_signed_stance_click_changes_no_stance(adr: Adr, slack, emulator):
    adr.new("Clicks must be signed")
    updates_before = len(emulator.calls("chat.update"))
    events_before = adr.events(1)
    assert slack.click(Action.AGREE, "1", user="UBOB", signed=False).status == 401
    assert slack.click(Action.AGREE, "1", user="UBOB", secret="nope").status == 401
    assert (
        slack.click(Action.AGREE, "1", user="UBOB", timestamp=int(time.time()) - 400).status == 401
    )
    assert slack.command("accept 1", signed=False).status == 401
    assert adr.stances(1) == {}
    assert adr.decision(1)["status"] == "proposed"
    assert adr.events(1) == events_before
    assert len(emulator.calls("chat.update")) == updates_before


# -- escaping ----------------------------------------------------------------------------------


def test_user_text_with_channel_pings_never_reaches_slack_unescaped(adr: Adr, slack, emulator):
    replies: list[str] = []  # what the bot answered in HTTP responses (Slack shows those too)
    title = f"Ping {RAW} now"
    adr.new(
        title,
        decision=f"Decide {RAW}",
        values={
            Field.CONTEXT: f"Context {RAW}",
            Field.CONSEQUENCES: RAW,
            Field.INFORMED: ["UDAN"],
            Field.DECIDERS: ["UBOB"],
        },
    )
    emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "UDAN")

    # Disagree & commit with the same text as the concern
    before = slack.views_opened()
    slack.click(Action.DISAGREE, "1", user="UCAROL")
    view = slack.opened_view(after=before)
    reply = slack.submit(
        view,
        {Field.CONCERN: f"Concern {RAW}", Field.CHANGE_MY_MIND: RAW, Field.COMMIT: ["commit"]},
        user="UCAROL",
    )
    assert reply.status == 200 and reply.text == ""
    adr.wait_update(lambda c: "commit *1*" in all_text(c.args["blocks"]))
    # reopening the form shows the concern again (inside plain text input)
    before = slack.views_opened()
    slack.click(Action.DISAGREE, "1", user="UCAROL")
    slack.opened_view(after=before)
    # Block with it as the reason
    before = slack.views_opened()
    slack.click(Action.BLOCK, "1", user="UERIN")
    view = slack.opened_view(after=before)
    assert slack.submit(view, {Field.REASON: f"Reason {RAW}"}, user="UERIN").text == ""
    adr.wait_update(lambda c: "Block *1*" in all_text(c.args["blocks"]))

    for text in ("show 1", "list", "search ping", f"search {RAW}", f"what {RAW}", "accept 1"):
        reply = slack.command(text)
        assert reply.status == 200
        replies.append(reply.text)
    # an edit and a supersede carry it into history and into the other record
    before = slack.views_opened()
    slack.command("edit 1")
    view = slack.opened_view(after=before)
    assert slack.submit(view, {Field.TITLE: f"Edited {RAW}"}).text == ""
    adr.wait_update(lambda c: "Edited" in c.args["blocks"][0]["text"]["text"])
    before = slack.views_opened()
    slack.command("supersede 1")
    view = slack.opened_view(after=before)
    assert slack.submit(view, {Field.DECISION: f"Again {RAW}"}).text == ""
    adr.wait_update(lambda c: "Superseded by" in all_text(c.args["blocks"]))
    emulator.wait_for("chat.postMessage", where=lambda c: "ADR-2" in c.args.get("text", ""))
    replies.append(slack.command("show 2").text)
    # App Home
    slack.event({"type": "app_home_opened", "user": "UALICE", "channel": "D1", "tab": "home"})
    emulator.wait_for("views.publish")
    replies.append(slack.command("show 1").text)
    slack.finish()  # every call the bot was going to make has been made

    # the escaped form is what Slack got in mrkdwn
    posted = all_text(adr.posts("CGENERAL")[0].args)
    assert f"Decide {ESCAPED}" in posted  # the card shows the decision; the record the rest
    assert f"Context {ESCAPED}" in all_text(replies)
    assert f"Ping {RAW} now" in adr.posts("CGENERAL")[0].args["blocks"][0]["text"]["text"]  # header
    assert f"Ping {ESCAPED} now" in adr.posts("CGENERAL")[0].args["text"]  # notification text
    shown = "\n".join(replies)
    assert f"Concern {ESCAPED}" in shown and f"Reason {ESCAPED}" in shown
    dms = adr.posts("UDAN")  # informed of ADR-1, and of ADR-2 (the form kept the people)
    assert len(dms) == 2 and all(ESCAPED in dm.args["text"] for dm in dms)
    # the raw characters were stored as typed: escaping is for Slack, not the database
    assert adr.stances(1)["UCAROL"]["concern"] == f"Concern {RAW}"

    offenders = []
    for call in emulator.calls():
        offenders += [f"{call.method} {p}" for p in unescaped_markup(call.args)]
    for i, body in enumerate(replies):
        offenders += [f"reply {i} {p}" for p in unescaped_markup(json.loads(body))]
    assert offenders == [], "\n".join(offenders)


def test_error_messages_escape_user_text_too(adr: Adr, slack, emulator):
    for text in (f"list {RAW}", f"search {RAW}", f"show {RAW}", RAW, f"accept 1 {RAW}"):
        reply = slack.command(text)
        assert reply.status == 200
        assert unescaped_markup(reply.json()) == [], (text, reply.text)


def test_bot_text_has_no_stray_angle_brackets(adr: Adr, slack, emulator):
    """Slack parses every ``<...>`` in mrkdwn as a link or mention: text the bot writes itself
    (help, placeholders like ``<why>``) must escape its brackets as much as user text does."""
    emulator.set_channel("CLOCKED", is_member=False)
    adr.new("Brackets a<b>c", values={Field.INFORMED: ["UDAN"], Field.DECIDERS: ["UBOB"]})
    adr.new("Unposted", post_in="CLOCKED", posted=False)
    emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "UALICE")
    slack.click(Action.AGREE, "1", user="UBOB")
    adr.wait_update(lambda c: "<@UBOB>" in all_text(c.args["blocks"]))
    slack.event({"type": "app_home_opened", "user": "UALICE", "channel": "D1", "tab": "home"})
    emulator.wait_for("views.publish")
    replies = [
        slack.command(text).json()
        for text in ("help", "nonsense <x>", "show 1", "list", "search brackets", "search <b>")
    ]
    slack.finish()
    offenders = [f"reply {i} {p}" for i, r in enumerate(replies) for p in stray_brackets(r)]
    for call in emulator.calls():
        offenders += [f"{call.method} {p}" for p in stray_brackets(call.args)]
    assert offenders == [], "\n".join(offenders)


def test_block_refusals_have_no_stray_angle_brackets(adr: Adr, slack):
    adr.new("Blocked one", values={Field.DECIDERS: ["UBOB"]})
    before = slack.views_opened()
    slack.click(Action.BLOCK, "1", user="UCAROL")
    view = slack.opened_view(after=before)
    assert slack.submit(view, {Field.REASON: "no"}, user="UCAROL").text == ""
    blocked = slack.command("accept 1")  # "is blocked by ... `--override` ..."
    no_note = slack.command("accept 1 --override", user="UBOB")  # "needs a note ..."
    assert "blocked by" in ephemeral(blocked) and "needs a note" in ephemeral(no_note)
    assert stray_brackets(blocked.json()) == []
    assert stray_brackets(no_note.json()) == []


# -- workspaces --------------------------------------------------------------------------------


def test_another_workspace_cannot_read_or_change_adr_1(adr: Adr, slack, emulator):
    adr.new("Alpha's secret roadmap", values={Field.DECIDERS: ["UBOB"], Field.TAGS: "roadmap"})
    alpha = adr.decision(1)
    alpha_events = adr.events(1)
    updates_before = len(emulator.calls("chat.update"))
    opened_before = len(emulator.calls("views.open"))

    # the same user ids exist in the other workspace (Enterprise Grid): ids alone give nothing
    for i, user in enumerate(("UALICE", "UBOB", "UZED")):

        def cmd(text: str, user: str = user) -> str:
            return ephemeral(slack.command(text, team="TBBB", user=user))

        for verb in ("show", "accept", "reject", "deprecate", "edit", "supersede"):
            assert "ADR-1 doesn't exist in this workspace" in cmd(f"{verb} 1"), (user, verb)
        assert "ADR-1 doesn't exist" in cmd("accept 1 --override we own it now")
        assert "secret" not in cmd("list") and listed_numbers(cmd("list")) == []
        assert listed_numbers(cmd("list #roadmap")) == []
        assert "Nothing matches" in cmd("search roadmap")
        assert "Nothing matches" in cmd("search Alpha")

        # buttons on a message carrying value "1", clicked from workspace B
        for action in (Action.AGREE, Action.DISAGREE, Action.BLOCK):
            reply = slack.click(action, "1", team="TBBB", user=user)
            assert reply.status == 200
        emulator.wait_for(
            "response_url",
            count=3 * (i + 1),
            where=lambda c: "ADR-1 doesn't exist" in c.args.get("text", ""),
        )

    assert len(emulator.calls("views.open")) == opened_before  # no form for B
    # forged modal submissions in workspace B naming ADR-1: an edit and a supersede
    edit_view = adr.open_form("edit 1")  # opened legitimately in workspace A by the author
    edit_reply = slack.submit(
        edit_view, {Field.TITLE: "Owned by B", Field.DECISION: "B decides"}, team="TBBB"
    )
    assert edit_reply.status == 200
    supersede_view = adr.open_form("supersede 1")
    reply = slack.submit(
        supersede_view, {Field.TITLE: "B supersedes", Field.DECISION: "x"}, team="TBBB"
    )
    assert reply.status == 200

    assert emulator.calls("views.open")[-1].args["view"]["title"]["text"] == "Supersede ADR-1"
    assert adr.decision(1) == alpha
    assert adr.events(1) == alpha_events
    assert adr.stances(1) == {}
    assert adr.count("decisions", "TBBB") == 0
    assert adr.count("stances") == 0
    assert len(emulator.calls("chat.update")) == updates_before
    # B was told in the modal itself, not left hanging
    for forged in (edit_reply, reply):
        [sentence] = forged.json()["errors"].values()
        assert "doesn't exist" in sentence

    # workspace B's first decision is its own ADR-1; A's is untouched
    adr.new("Beta's first", team="TBBB", user="UZED", channel="CBETA")
    assert adr.decision(1, team="TBBB")["title"] == "Beta's first"
    assert adr.decision(1)["title"] == "Alpha's secret roadmap"
    assert adr.count("decisions", "TAAA") == 1
    # A's next number is 2, not 3: numbers are per workspace
    adr.new("Alpha's second")
    assert adr.decision(2)["title"] == "Alpha's second"

    # now "1" means B's ADR-1 in B: a click there lands on B's decision only
    slack.click(Action.AGREE, "1", team="TBBB", user="UZED", channel="CBETA")
    update = adr.wait_update(lambda c: c.args["channel"] == "CBETA")
    assert update.args["ts"] == adr.decision(1, team="TBBB")["message_ts"]
    assert "Beta's first" in update.args["blocks"][0]["text"]["text"]
    assert list(adr.stances(1, team="TBBB")) == ["UZED"]
    assert adr.stances(1) == {}
    b_show = ephemeral(slack.command("show 1", team="TBBB", user="UZED"))
    assert "Beta's first" in b_show and "roadmap" not in b_show
    assert listed_numbers(ephemeral(slack.command("list", team="TBBB", user="UZED"))) == [1]
    assert "Alpha" not in ephemeral(slack.command("list", team="TBBB", user="UZED"))
    # and A's view of ADR-1 is still A's
    assert "Alpha's secret roadmap" in adr.show(1)


# -- private channels --------------------------------------------------------------------------


def test_private_channel_decision_is_seen_only_by_its_members(adr: Adr, slack, emulator):
    emulator.set_channel("CPRIV", is_private=True, members=["UALICE", "UBOB", "UPRIV"])
    adr.new("Public lunch plan", decision="Tacos for everyone.")
    adr.new(
        "Quiet reorg plan",
        decision="Tacos for the reorg team.",
        channel="CPRIV",
        values={Field.DECIDERS: ["UBOB"], Field.INFORMED: ["UDAN"]},
    )
    assert bool(adr.decision(2)["channel_private"]) is True
    assert bool(adr.decision(1)["channel_private"]) is False

    def sees(user: str, channel: str) -> dict[str, bool]:
        lst = listed_numbers(adr.run("list", user=user, channel=channel))
        found = listed_numbers(adr.run("search tacos", user=user, channel=channel))
        show = adr.run("show 2", user=user, channel=channel)
        assert 1 in lst and 1 in found, (user, channel)  # the public one is seen by everyone
        return {"list": 2 in lst, "search": 2 in found, "show": "Quiet reorg plan" in show}

    hidden = {"list": False, "search": False, "show": False}
    shown = {"list": True, "search": True, "show": True}
    assert sees("UCAROL", "CGENERAL") == hidden  # not named, elsewhere
    assert sees("UCAROL", "CRANDOM") == hidden
    assert sees("UALICE", "CGENERAL") == shown  # author
    assert sees("UBOB", "CGENERAL") == shown  # decider
    assert sees("UDAN", "CGENERAL") == shown  # informed: named on it
    assert sees("UPRIV", "CPRIV") == shown  # a member of the channel, in that channel
    assert sees("UCAROL", "CPRIV") == shown  # whoever can type in the channel can see it there
    assert "doesn't exist" in adr.run("show 2", user="UCAROL", channel="CGENERAL")
    # nor can an outsider change it from elsewhere
    assert "doesn't exist" in adr.run("accept 2", user="UCAROL", channel="CGENERAL")
    assert adr.decision(2)["status"] == "proposed"
    # Home of an outsider does not show it
    slack.event({"type": "app_home_opened", "user": "UCAROL", "channel": "D1", "tab": "home"})
    [home] = emulator.wait_for("views.publish")
    assert "reorg" not in all_text(home.args["view"]).lower()


def test_dm_decision_counts_as_private(adr: Adr, emulator):
    adr.new("Just between us", channel="DALICE", values={Field.DECIDERS: ["UBOB"]}, posted=False)
    emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "DALICE")
    assert bool(adr.decision(1)["channel_private"]) is True
    assert 1 not in listed_numbers(adr.run("list", user="UCAROL"))
    assert 1 in listed_numbers(adr.run("list", user="UBOB"))
