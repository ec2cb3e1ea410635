"""Stances and the decision lifecycle end to end, on SQLite and Postgres: Agree / Disagree &
commit / Block, double clicks, accept / reject / deprecate with permissions and blocks,
supersede links, and edits that keep history."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from bot.core.ids import Action, Callback, Field
from tests.e2e.adr import Adr, all_text, ephemeral, has_stance_buttons, header_text


def _tally(call) -> tuple[int, int, int]:
    text = all_text(call.args["blocks"])
    m = re.search(r"Agree \*(\d+)\*.*Disagree & commit \*(\d+)\*.*Block \*(\d+)\*", text, re.S)
    assert m, text
    return int(m[1]), int(m[2]), int(m[3])


def _open_stance_form(adr: Adr, action: str, user: str, number: int = 1) -> dict:
    before = adr.slack.views_opened()
    reply = adr.slack.click(action, str(number), user=user)
    assert reply.status == 200 and reply.text == ""
    return adr.slack.opened_view(after=before)


def _block_ids(view: dict) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


# -- stances -----------------------------------------------------------------------------------


def test_stance_changes_keep_one_current_stance_and_every_change(adr: Adr, slack, emulator):
    adr.new("Adopt trunk-based development", values={Field.DECIDERS: ["UALICE"]})
    message_ts = adr.decision(1)["message_ts"]

    # Agree
    assert slack.click(Action.AGREE, "1", user="UBOB").status == 200
    update = adr.wait_update(lambda c: _tally(c) == (1, 0, 0))
    assert update.args["channel"] == "CGENERAL" and update.args["ts"] == message_ts
    assert "<@UBOB>" in all_text(update.args["blocks"])
    assert has_stance_buttons(update.args["blocks"])
    assert adr.stances(1)["UBOB"]["kind"] == "agree"

    # change to Disagree & commit: a modal; the concern and the commitment are required
    view = _open_stance_form(adr, Action.DISAGREE, "UBOB")
    assert view["callback_id"] == Callback.DISAGREE_FORM
    assert _block_ids(view) == [Field.CONCERN, Field.CHANGE_MY_MIND, Field.COMMIT]
    assert "ADR-1" in all_text(view["blocks"][0])
    reply = slack.submit(view, {Field.COMMIT: ["commit"]}, user="UBOB")
    assert reply.json()["response_action"] == "errors"
    assert set(reply.json()["errors"]) == {Field.CONCERN}
    reply = slack.submit(view, {Field.CONCERN: "Long-lived branches hide risk"}, user="UBOB")
    assert set(reply.json()["errors"]) == {Field.COMMIT}
    reply = slack.submit(view, {Field.CONCERN: "x" * 3001, Field.COMMIT: ["commit"]}, user="UBOB")
    assert set(reply.json()["errors"]) == {Field.CONCERN}
    assert adr.stances(1)["UBOB"]["kind"] == "agree"  # nothing saved by the refusals
    reply = slack.submit(
        view,
        {
            Field.CONCERN: "Releases get harder to cut",
            Field.CHANGE_MY_MIND: "Feature flags in place first",
            Field.COMMIT: ["commit"],
        },
        user="UBOB",
    )
    assert reply.status == 200 and reply.text == ""
    update = adr.wait_update(lambda c: _tally(c) == (0, 1, 0))
    assert update.args["ts"] == message_ts
    stance = adr.stances(1)["UBOB"]
    assert stance["kind"] == "disagree_and_commit"
    assert bool(stance["committed"]) is True
    assert stance["concern"] == "Releases get harder to cut"
    assert stance["change_my_mind"] == "Feature flags in place first"

    # reopening the form shows what was said
    view = _open_stance_form(adr, Action.DISAGREE, "UBOB")
    concern = next(b for b in view["blocks"] if b.get("block_id") == Field.CONCERN)
    assert concern["element"]["initial_value"] == "Releases get harder to cut"

    # change to Block: a reason is required
    view = _open_stance_form(adr, Action.BLOCK, "UBOB")
    assert view["callback_id"] == Callback.BLOCK_FORM
    assert _block_ids(view) == [Field.REASON]
    reply = slack.submit(view, {Field.REASON: "  "}, user="UBOB")
    assert reply.json() == {
        "response_action": "errors",
        "errors": {Field.REASON: reply.json()["errors"][Field.REASON]},
    }
    reply = slack.submit(view, {Field.REASON: "No CI for the mobile app yet"}, user="UBOB")
    assert reply.status == 200 and reply.text == ""
    adr.wait_update(lambda c: _tally(c) == (0, 0, 1))
    stance = adr.stances(1)["UBOB"]
    assert stance["kind"] == "block" and stance["reason"] == "No CI for the mobile app yet"
    assert list(adr.stances(1)) == ["UBOB"]  # one current stance per person

    # history keeps every change, in order, with what it replaced
    history = adr.events(1, kind="stance")
    assert [e["detail"]["kind"] for e in history] == ["agree", "disagree_and_commit", "block"]
    assert all(e["actor_id"] == "UBOB" for e in history)
    assert history[0]["detail"]["previous"] is None
    assert history[1]["detail"]["previous"]["kind"] == "agree"
    assert history[2]["detail"]["previous"]["concern"] == "Releases get harder to cut"

    shown = adr.show(1)
    assert "<@UBOB>: Block" in shown
    assert "No CI for the mobile app yet" in shown
    assert "<@UBOB> set stance Agree" in shown
    assert "set stance Disagree &amp; commit (was Agree)" in shown
    assert "set stance Block (was Disagree &amp; commit)" in shown

    # and back to Agree with one click: the block is withdrawn
    slack.click(Action.AGREE, "1", user="UBOB")
    # the click acks before it writes: wait for the second (1, 0, 0) tally, not the first
    adr.wait_update(lambda c: _tally(c) == (1, 0, 0), count=2)
    assert adr.stances(1)["UBOB"]["kind"] == "agree"
    assert len(adr.events(1, kind="stance")) == 4
    # every tally update went to the one posted message: updated in place, never reposted
    assert {c.args["ts"] for c in emulator.calls("chat.update")} == {message_ts}
    assert len(adr.posts("CGENERAL")) == 1


def test_same_click_twice_counts_once(adr: Adr, slack, emulator):
    adr.new("Tabs, not spaces")
    slack.click(Action.AGREE, "1", user="UBOB")
    adr.wait_update(lambda c: _tally(c) == (1, 0, 0))
    reply = slack.click(Action.AGREE, "1", user="UBOB")  # the double click
    assert reply.status == 200
    # a later click by someone else is the barrier: by its update the double click is done
    slack.click(Action.AGREE, "1", user="UCAROL")
    adr.wait_update(lambda c: _tally(c) == (2, 0, 0))
    assert set(adr.stances(1)) == {"UBOB", "UCAROL"}
    assert [e["actor_id"] for e in adr.events(1, kind="stance")] == ["UBOB", "UCAROL"]
    # the same Disagree & commit submitted twice (a retried view_submission) is one change
    view = _open_stance_form(adr, Action.DISAGREE, "UDAN")
    values = {Field.CONCERN: "Spaces render everywhere", Field.COMMIT: ["commit"]}
    assert slack.submit(view, values, user="UDAN").text == ""
    assert slack.submit(view, values, user="UDAN").text == ""
    adr.wait_update(lambda c: _tally(c) == (2, 1, 0))
    assert len(adr.events(1, kind="stance")) == 3
    slack.finish()
    assert _tally(emulator.calls("chat.update")[-1]) == (2, 1, 0)
    # the repeated Agree didn't touch the message: Bob's one Agree made the only (1, 0, 0)
    assert [_tally(c) for c in emulator.calls("chat.update")].count((1, 0, 0)) == 1


def test_concurrent_clicks_never_double_count(adr: Adr, slack, emulator):
    adr.new("Move to a monorepo")
    clicks = [("UBOB", Action.AGREE)] * 6 + [
        (u, Action.AGREE) for u in ("UCAROL", "UDAN", "UERIN", "UFRED")
    ]
    with ThreadPoolExecutor(max_workers=len(clicks)) as pool:
        replies = list(pool.map(lambda c: slack.click(c[1], "1", user=c[0]), clicks))
    assert [r.status for r in replies] == [200] * len(clicks)

    # the message ends up showing all five, however the updates interleaved
    adr.wait_update(lambda c: _tally(c) == (5, 0, 0))
    stances = adr.stances(1)
    assert sorted(stances) == ["UBOB", "UCAROL", "UDAN", "UERIN", "UFRED"]
    assert all(s["kind"] == "agree" for s in stances.values())
    history = adr.events(1, kind="stance")
    assert sorted(e["actor_id"] for e in history) == ["UBOB", "UCAROL", "UDAN", "UERIN", "UFRED"]
    assert all(_tally(c)[0] <= 5 for c in emulator.calls("chat.update"))
    assert "Agree *5*" in adr.show(1)
    slack.finish()
    assert _tally(emulator.calls("chat.update")[-1]) == (5, 0, 0)  # the last word is right


# -- lifecycle ---------------------------------------------------------------------------------


def test_only_author_and_deciders_change_status(adr: Adr, slack, emulator):
    adr.new("Use Renovate", values={Field.DECIDERS: ["UBOB"], Field.CONSULTED: ["UCAROL"]})
    adr.new("Drop IE11", values={Field.DECIDERS: ["UBOB"]})
    adr.new("Retire Jenkins")

    # others (even the consulted) are refused, in the command's own ephemeral reply
    for verb in ("accept", "reject", "deprecate"):
        reply = slack.command(f"{verb} 1", user="UCAROL")
        text = ephemeral(reply)
        assert "Only the author and the deciders of ADR-1 can change it" in text, text
    for verb in ("edit", "supersede"):
        text = ephemeral(slack.command(f"{verb} 1", user="UCAROL"))
        assert f"Only the author and the deciders of ADR-1 can {verb} it" in text
    assert adr.decision(1)["status"] == "proposed"
    assert adr.events(1, kind="status_changed") == []
    assert len(emulator.calls("views.open")) == 3  # only the three /adr new forms

    # a decider accepts, then the author deprecates
    assert ephemeral(slack.command("accept 1", user="UBOB")) == "ADR-1 is now accepted."
    update = adr.wait_update(
        lambda c: (
            header_text(c) == "ADR-1: Use Renovate" and "Accepted" in all_text(c.args["blocks"])
        )
    )
    assert update.args["ts"] == adr.decision(1)["message_ts"]
    assert adr.decision(1)["status"] == "accepted"
    text = ephemeral(slack.command("deprecate 1 replaced by Dependabot", user="UALICE"))
    assert text == "ADR-1 is now deprecated."
    update = adr.wait_update(
        lambda c: (
            header_text(c) == "ADR-1: Use Renovate" and "Deprecated" in all_text(c.args["blocks"])
        )
    )
    assert not has_stance_buttons(update.args["blocks"])  # stances are closed

    # the author rejects ADR-2; the author accepts ADR-3
    assert ephemeral(slack.command("reject 2")) == "ADR-2 is now rejected."
    assert ephemeral(slack.command("accept 3")) == "ADR-3 is now accepted."
    assert adr.decision(2)["status"] == "rejected"
    assert adr.decision(3)["status"] == "accepted"

    # a state a status can't come from is refused clearly
    assert "ADR-2 is rejected, so it can't become accepted" in ephemeral(slack.command("accept 2"))
    assert adr.decision(2)["status"] == "rejected"

    # every change is an event with actor and details
    changes = [
        (e["actor_id"], e["detail"]["from"], e["detail"]["to"])
        for e in adr.events(1, kind="status_changed")
    ]
    assert changes == [("UBOB", "proposed", "accepted"), ("UALICE", "accepted", "deprecated")]
    assert adr.events(1, kind="status_changed")[1]["detail"]["note"] == "replaced by Dependabot"
    shown = adr.show(1, user="UCAROL")
    assert "<@UBOB> changed status proposed → accepted" in shown
    assert "deprecated: “replaced by Dependabot”" in shown

    # clicking a stance on a closed decision is refused, not counted
    slack.click(Action.AGREE, "2", user="UDAN")
    emulator.wait_for(
        "response_url", where=lambda c: "stances are closed" in c.args.get("text", "")
    )
    assert adr.stances(2) == {}


def test_a_blocked_decision_is_accepted_only_after_withdrawal_or_a_decider_override(
    adr: Adr, slack
):
    adr.new("Rewrite in Rust", values={Field.DECIDERS: ["UBOB"]})
    adr.new("Rewrite in Go", values={Field.DECIDERS: ["UBOB"]})
    for number in (1, 2):
        view = _open_stance_form(adr, Action.BLOCK, "UCAROL", number)
        assert (
            slack.submit(view, {Field.REASON: "Nobody on call knows it"}, user="UCAROL").text == ""
        )
        adr.wait_update(
            lambda c, n=number: header_text(c).startswith(f"ADR-{n}:") and _tally(c)[2] == 1
        )

    refused = ephemeral(slack.command("accept 1"))
    assert "ADR-1 is blocked by <@UCAROL>" in refused
    assert "/adr accept 1 --override" in refused
    # the author is not a decider: no override
    assert "Only someone who was a decider of ADR-1 when <@UCAROL> blocked it" in ephemeral(
        slack.command("accept 1 --override we must")
    )
    # a decider must say why
    assert "needs a note" in ephemeral(slack.command("accept 1 --override", user="UBOB"))
    assert adr.decision(1)["status"] == "proposed"
    assert adr.events(1, kind="status_changed") == []

    assert ephemeral(slack.command("accept 1 --override security fix can't wait", user="UBOB")) == (
        "ADR-1 is now accepted."
    )
    [event] = adr.events(1, kind="status_changed")
    assert event["actor_id"] == "UBOB"
    assert event["detail"]["overrode_blocks"] == ["UCAROL"]
    assert event["detail"]["note"] == "security fix can't wait"
    assert "overriding 1 block(s): “security fix can't wait”" in adr.show(1).replace("&#39;", "'")

    # ADR-2: the blocker withdraws (changes to Agree); then the author may accept
    assert "blocked by" in ephemeral(slack.command("accept 2"))
    slack.click(Action.AGREE, "2", user="UCAROL")
    adr.wait_update(lambda c: header_text(c).startswith("ADR-2:") and _tally(c) == (1, 0, 0))
    assert ephemeral(slack.command("accept 2")) == "ADR-2 is now accepted."
    assert "overrode_blocks" not in adr.events(2, kind="status_changed")[0]["detail"]


def test_supersede_opens_prefilled_form_and_links_both_ways(adr: Adr, slack, emulator):
    adr.new(
        "Use REST",
        decision="Public API is REST.",
        values={
            Field.CONTEXT: "Partners need an API.",
            Field.DECIDERS: ["UBOB"],
            Field.TAGS: "api",
        },
    )
    slack.command("accept 1", user="UBOB")
    old_ts = adr.decision(1)["message_ts"]

    view = adr.open_form("supersede 1", user="UBOB", channel="CAPI")
    assert view["title"]["text"] == "Supersede ADR-1"
    initial = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert initial[Field.TITLE]["initial_value"] == "Use REST"
    assert initial[Field.DECISION]["initial_value"] == "Public API is REST."
    assert initial[Field.CONTEXT]["initial_value"] == "Partners need an API."
    assert initial[Field.DECIDERS]["initial_users"] == ["UBOB"]
    assert initial[Field.TAGS]["initial_value"] == "api"
    assert initial[Field.CHANNEL]["initial_conversation"] == "CAPI"

    reply = slack.submit(
        view, {Field.TITLE: "Use GraphQL", Field.DECISION: "Public API is GraphQL."}, user="UBOB"
    )
    assert reply.status == 200 and reply.text == ""
    new_post = adr.wait_post("ADR-2: Use GraphQL", channel="CAPI")
    assert "*Supersedes:* ADR-1" in all_text(new_post.args["blocks"])
    old_update = adr.wait_update(
        lambda c: c.args["ts"] == old_ts and "Superseded by" in all_text(c.args["blocks"])
    )
    assert "*Superseded by:* ADR-2" in all_text(old_update.args["blocks"])
    assert "Superseded" in all_text(old_update.args["blocks"])
    assert not has_stance_buttons(old_update.args["blocks"])

    old, new = adr.decision(1), adr.decision(2)
    assert old["status"] == "superseded"
    assert old["superseded_by_id"] == new["id"]
    assert new["supersedes_id"] == old["id"]
    assert new["status"] == "proposed" and new["author_id"] == "UBOB"
    assert old["title"] == "Use REST"  # the old record is kept as it was
    [superseded] = adr.events(1, kind="superseded")
    assert superseded["actor_id"] == "UBOB" and superseded["detail"]["by"] == "ADR-2"
    assert adr.events(2, kind="supersedes")[0]["detail"]["of"] == "ADR-1"
    assert "*Superseded by:* ADR-2" in adr.show(1)
    assert "*Supersedes:* ADR-1" in adr.show(2)

    # it can't be superseded twice, and nobody else may supersede
    assert "ADR-1 is superseded, so it can't be superseded" in ephemeral(
        slack.command("supersede 1")
    )
    assert "Only the author and the deciders of ADR-2" in ephemeral(
        slack.command("supersede 2", user="UCAROL")
    )
    assert adr.count("decisions") == 2


def test_a_forged_supersede_by_someone_else_saves_nothing(adr: Adr, slack, emulator):
    adr.new("Keep Heroku")
    view = adr.open_form("supersede 1")  # opened by the author...
    reply = slack.submit(view, {Field.TITLE: "Move to Fly"}, user="UCAROL")  # ...submitted by Carol
    assert reply.status == 200
    # refused in the modal itself, which stays open with the reason
    [sentence] = reply.json()["errors"].values()
    assert "Only the author and the deciders of ADR-1" in sentence
    assert adr.count("decisions") == 1
    assert adr.decision(1)["status"] == "proposed"
    assert adr.decision(1)["superseded_by_id"] is None


def test_edit_keeps_the_old_values_in_history(adr: Adr, slack, emulator):
    adr.new(
        "Deploy on Fridays",
        decision="Deploys any weekday.",
        values={Field.DECIDERS: ["UBOB"], Field.TAGS: "release"},
    )
    ts = adr.decision(1)["message_ts"]
    view = adr.open_form("edit 1", user="UBOB")
    assert view["title"]["text"] == "Edit ADR-1"
    ids = {b.get("block_id") for b in view["blocks"]}
    assert (
        Field.CHANNEL not in ids and Field.STATUS not in ids
    )  # where and status don't change here
    initial = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert initial[Field.TITLE]["initial_value"] == "Deploy on Fridays"
    assert initial[Field.DECISION]["initial_value"] == "Deploys any weekday."

    # validation applies to edits too
    reply = slack.submit(view, {Field.DECISION: ""}, user="UBOB")
    assert set(reply.json()["errors"]) == {Field.DECISION}

    reply = slack.submit(
        view,
        {
            Field.TITLE: "No deploys on Fridays",
            Field.DECISION: "Deploys Monday to Thursday.",
            Field.CONSULTED: ["UCAROL"],
        },
        user="UBOB",
    )
    assert reply.status == 200 and reply.text == ""
    update = adr.wait_update(lambda c: header_text(c) == "ADR-1: No deploys on Fridays")
    assert update.args["ts"] == ts
    assert "Deploys Monday to Thursday." in all_text(update.args["blocks"])
    assert len(adr.posts("CGENERAL")) == 1  # updated in place, not reposted

    row = adr.decision(1)
    assert (row["title"], row["decision"]) == (
        "No deploys on Fridays",
        "Deploys Monday to Thursday.",
    )
    [edited] = adr.events(1, kind="edited")
    assert edited["actor_id"] == "UBOB"
    changes = edited["detail"]["changes"]
    assert changes["title"] == ["Deploy on Fridays", "No deploys on Fridays"]
    assert changes["decision"] == ["Deploys any weekday.", "Deploys Monday to Thursday."]
    assert changes["consulted"] == [[], ["UCAROL"]]
    assert "tags" not in changes  # untouched fields are not recorded as changed
    assert "<@UBOB> edited consulted, decision, title" in adr.show(1)

    # saving with no change records nothing
    view = adr.open_form("edit 1")
    assert slack.submit(view, {}).text == ""
    assert len(adr.events(1, kind="edited")) == 1
    # an outsider's forged edit changes nothing; the modal says why
    view = adr.open_form("edit 1")
    reply = slack.submit(view, {Field.TITLE: "Carol was here"}, user="UCAROL")
    assert reply.status == 200
    [sentence] = reply.json()["errors"].values()
    assert "Only the author and the deciders of ADR-1" in sentence
    assert adr.decision(1)["title"] == "No deploys on Fridays"
    assert len(adr.events(1, kind="edited")) == 1


def test_no_path_lets_someone_who_was_not_a_decider_step_around_a_block(adr: Adr, slack):
    """Issue 7, item 1: the author cannot make themselves a decider while a block stands; a
    decider added after the block cannot override it; superseding starts a new round."""
    adr.new("Adopt GraphQL", values={Field.DECIDERS: ["UBOB"]})
    view = _open_stance_form(adr, Action.BLOCK, "UCAROL", 1)
    assert slack.submit(view, {Field.REASON: "No caching story"}, user="UCAROL").text == ""

    # the author edits the deciders to include themselves: refused, in the modal
    edit = adr.open_form("edit 1")
    reply = slack.submit(edit, {Field.DECIDERS: ["UBOB", "UALICE"]})
    [sentence] = reply.json()["errors"].values()
    assert "blocked, so only its deciders can change who decides" in sentence
    assert adr.events(1, kind="edited") == []

    # a decider adds Dan; Dan was not a decider when Carol blocked: no override for him
    edit = adr.open_form("edit 1", user="UBOB")
    assert slack.submit(edit, {Field.DECIDERS: ["UBOB", "UDAN"]}, user="UBOB").text == ""
    refused = ephemeral(slack.command("accept 1 --override ship it", user="UDAN"))
    assert "Only someone who was a decider of ADR-1 when <@UCAROL> blocked it" in refused
    assert adr.decision(1)["status"] == "proposed"

    # superseding it "accepted" is not offered, and the successor starts as proposed
    form = adr.open_form("supersede 1")
    assert Field.STATUS not in [b.get("block_id") for b in form["blocks"]]
    assert slack.submit(form, {Field.TITLE: "Adopt GraphQL with persisted queries"}).text == ""
    assert adr.decision(2)["status"] == "proposed"
    assert adr.decision(1)["status"] == "superseded"

    # Bob was a decider when the block was placed: he may override (on a fresh block)
    adr.new("Adopt gRPC", values={Field.DECIDERS: ["UBOB"]})
    view = _open_stance_form(adr, Action.BLOCK, "UCAROL", 3)
    assert slack.submit(view, {Field.REASON: "Browsers"}, user="UCAROL").text == ""
    assert ephemeral(slack.command("accept 3 --override gateway handles it", user="UBOB")) == (
        "ADR-3 is now accepted."
    )
