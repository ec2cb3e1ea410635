"""The decision lifecycle end to end, on SQLite and Postgres: accept / reject / deprecate with
permissions and blocks, supersede links, and edits that keep history."""

from __future__ import annotations

from bot.core.ids import Action, Field
from tests.support.adr import Adr, all_text, ephemeral, has_stance_buttons, header_text
from tests.support.stances import _open_stance_form, _tally

# -- lifecycle ---------------------------------------------------------------------------------


def test_only_author_and_deciders_change_status(adr: Adr, slack, emulator):
    adr.new("Use Renovate", values={Field.DECIDERS: ["UBOB"], Field.CONSULTED: ["UCAROL"]})
    adr.new("Drop IE11", values={Field.DECIDERS: ["UBOB"]})
    adr.new("Retire Jenkins")

    # others (even the consulted) are refused, in the command's own ephemeral reply, with the
    # one refusal every change of a decision gives
    refusal = (
        "Only the author and the deciders of ADR-1 can do that. "
        f"Ask <@{adr.decision(1)['author_id']}> if something should change."
    )
    for verb in ("accept", "reject", "deprecate", "edit", "supersede"):
        text = ephemeral(slack.command(f"{verb} 1", user="UCAROL"))
        assert text == refusal, (verb, text)
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
    assert "overriding 1 block: “security fix can't wait”" in adr.show(1).replace("&#39;", "'")

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
