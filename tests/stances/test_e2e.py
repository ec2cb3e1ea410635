"""Stances end to end, on SQLite and Postgres: Agree / Disagree & commit / Block, one current
stance per person with every change kept, double clicks and concurrent clicks counted once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.core.ids import Action, Callback, Field
from tests.support.adr import Adr, all_text, has_stance_buttons
from tests.support.stances import _open_stance_form, _tally


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
    assert _block_ids(view) == [Field.CONCERN, Field.CHANGE_MY_MIND, Field.COMMIT, Field.FORECAST]
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
    assert _block_ids(view) == [Field.REASON, Field.FORECAST]
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


def test_adr_show_puts_each_stance_and_its_concern_on_a_line_of_its_own(adr: Adr, slack):
    """Issue 20: `/adr show` ran the stances together ("• @bob: Agree• @carol: …")."""
    adr.new("Adopt trunk-based development", values={Field.DECIDERS: ["UALICE"]})
    slack.click(Action.AGREE, "1", user="UBOB")
    adr.wait_update(lambda c: _tally(c) == (1, 0, 0))
    view = _open_stance_form(adr, Action.DISAGREE, "UCAROL")
    slack.submit(
        view, {Field.CONCERN: "Releases get harder", Field.COMMIT: ["commit"]}, user="UCAROL"
    )
    adr.wait_update(lambda c: _tally(c) == (1, 1, 0))
    view = _open_stance_form(adr, Action.BLOCK, "UDAN")
    slack.submit(view, {Field.REASON: "No CI for mobile"}, user="UDAN")
    adr.wait_update(lambda c: _tally(c) == (1, 1, 1))

    shown = adr.show(1)
    stances = shown[shown.index("*Stances*") :].split("\n")[:6]
    assert stances == [
        "*Stances*",
        "• <@UBOB>: Agree",
        "• <@UCAROL>: Disagree &amp; commit (committed)",
        "    _Concern:_ Releases get harder",
        "• <@UDAN>: Block",
        "    _Block reason:_ No CI for mobile",
    ]
