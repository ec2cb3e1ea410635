"""The decision form's "Post in" check (issue 20), end to end over real HTTP, on SQLite and
Postgres: once the form is open and whenever "Post in" changes, one conversations.info, and a
warning under the select (views.update, with the view's hash) when I can't post there.

The emulator keeps each open modal and what the person entered in it, as Slack does: across a
views.update an input's entry survives when its block and action ids do, so "typed text
survives" is checked against Slack's own rule, not against the bot's idea of it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.core.ids import Action, Callback, Field
from tests.support.adr import Adr
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import Call, SlackEmulator

INVITE = "`/invite @Decision Bot`"


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if b.get("block_id") == block_id), None)


def _warning(view: dict[str, Any]) -> str | None:
    block = _block(view, Field.POST_IN_WARNING)
    return None if block is None else block["elements"][0]["text"]


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b.get("type") == "input"]


def _answered(call: Call) -> dict[str, Any]:
    """What the emulator answered ``call`` (it is recorded as it arrives, answered after)."""
    deadline = time.monotonic() + 20
    while call.response is None:
        assert time.monotonic() < deadline, f"{call.method} never answered"
        time.sleep(0.01)
    return call.response


def _open(adr: Adr, emulator: SlackEmulator, *, channel: str) -> str:
    """`/adr new …` in ``channel``; the id of the modal it opened."""
    before = len(emulator.calls("views.open"))
    adr.open_form("new Use Postgres", channel=channel)
    call = emulator.wait_for("views.open", count=before + 1)[before]
    return str(_answered(call)["view"]["id"])


def _updates(emulator: SlackEmulator, view_id: str) -> list[Call]:
    return [c for c in emulator.calls("views.update") if c.args.get("view_id") == view_id]


def _private_without_me(emulator: SlackEmulator, channel: str = "CSECRET") -> None:
    emulator.set_channel(channel, is_private=True, is_member=False, name="secret")


# -- once the form is open ---------------------------------------------------------------------


def test_a_form_preset_to_a_private_channel_i_am_not_in_says_so(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    _private_without_me(emulator)
    view_id = _open(adr, emulator, channel="CSECRET")
    opened = emulator.calls("views.open")[-1].args["view"]
    [update] = emulator.wait_for("views.update", where=lambda c: c.args["view_id"] == view_id)
    [info] = emulator.calls("conversations.info")
    assert info.args["channel"] == "CSECRET"
    assert update.args["hash"] == emulator.calls("views.open")[-1].response["view"]["hash"]
    shown = update.args["view"]
    warning = _warning(shown)
    assert warning is not None and INVITE in warning and "<#CSECRET>" in warning
    # right under "Post in", and nothing else changed
    ids = [b.get("block_id") for b in shown["blocks"]]
    assert ids.index(Field.POST_IN_WARNING) == ids.index(Field.CHANNEL) + 1
    assert _inputs(shown) == _inputs(opened)
    assert shown["private_metadata"] == opened["private_metadata"]
    assert shown["callback_id"] == Callback.DECISION_FORM
    assert _warning(emulator.view(view_id)) == warning


def test_a_channel_slack_does_not_show_me_gets_the_warning_too(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    emulator.set_channel("CHIDDEN", exists=False)  # conversations.info: channel_not_found
    view_id = _open(adr, emulator, channel="CHIDDEN")
    [update] = emulator.wait_for("views.update", where=lambda c: c.args["view_id"] == view_id)
    warning = _warning(update.args["view"])
    assert warning is not None and "can't see that conversation" in warning and INVITE in warning


@pytest.mark.parametrize(
    "conf",
    [{}, {"is_private": True, "is_member": True}, {"is_member": False}],
    ids=["public, a member", "private, a member", "public, not a member (chat:write.public)"],
)
def test_a_channel_i_can_post_in_gets_no_warning(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, conf: dict[str, Any]
) -> None:
    emulator.set_channel("CTEAM", **conf)
    view_id = _open(adr, emulator, channel="CTEAM")
    emulator.wait_for("conversations.info", where=lambda c: c.args["channel"] == "CTEAM")
    slack.listeners_done()
    assert _updates(emulator, view_id) == []
    assert _block(emulator.view(view_id), Field.CHANNEL)["dispatch_action"] is True


# -- whenever "Post in" changes ----------------------------------------------------------------


def test_changing_post_in_adds_the_warning_and_changing_back_takes_it_away(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    _private_without_me(emulator)
    view_id = _open(adr, emulator, channel="CGENERAL")
    slack.listeners_done()
    assert _updates(emulator, view_id) == []

    reply = slack.pick_in_modal(view_id, Field.CHANNEL, "CSECRET")
    assert reply.status == 200 and reply.text == ""
    [warned] = emulator.wait_for("views.update", where=lambda c: c.args["view_id"] == view_id)
    assert INVITE in (_warning(warned.args["view"]) or "")

    slack.pick_in_modal(view_id, Field.CHANNEL, "CGENERAL")
    cleared = emulator.wait_for(
        "views.update", count=2, where=lambda c: c.args["view_id"] == view_id
    )[1]
    assert _warning(cleared.args["view"]) is None
    assert _warning(emulator.view(view_id)) is None
    # each update carries the hash of the view it changes: the one the click came from
    assert warned.args["hash"] != cleared.args["hash"]

    # another channel I can post in: nothing to change, so no update
    slack.pick_in_modal(view_id, Field.CHANNEL, "CRANDOM")
    emulator.wait_for("conversations.info", where=lambda c: c.args["channel"] == "CRANDOM")
    slack.listeners_done()
    assert len(_updates(emulator, view_id)) == 2


def test_what_was_typed_before_the_change_survives_the_update(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    _private_without_me(emulator)
    view_id = _open(adr, emulator, channel="CGENERAL")
    slack.listeners_done()
    typed = {
        Field.TITLE: "Sessions move to Redis",
        Field.CONTEXT: "Memcached loses sessions on restart.",
        Field.DECISION: "Redis, with AOF persistence.",
        Field.DECIDERS: ["UBOB"],
        Field.TAGS: "infra",
        Field.REVIEW_DATE: "in 2 weeks",
    }
    slack.enter(view_id, typed)
    opened = emulator.view(view_id)

    slack.pick_in_modal(view_id, Field.CHANNEL, "CSECRET")
    emulator.wait_for("views.update", where=lambda c: c.args["view_id"] == view_id)
    slack.pick_in_modal(view_id, Field.CHANNEL, "CGENERAL")
    emulator.wait_for("views.update", count=2, where=lambda c: c.args["view_id"] == view_id)

    now = emulator.view(view_id)
    assert _inputs(now) == _inputs(opened)  # block and action ids, initial values: all kept
    state = slack.modal_state(view_id)
    assert state[Field.TITLE][Action.VALUE]["value"] == "Sessions move to Redis"
    assert state[Field.CONTEXT][Action.VALUE]["value"] == "Memcached loses sessions on restart."
    assert state[Field.DECIDERS][Action.VALUE]["selected_users"] == ["UBOB"]
    assert state[Field.CHANNEL][Action.POST_IN]["selected_conversation"] == "CGENERAL"

    reply = slack.submit_modal(view_id)
    assert reply.status == 200 and reply.text == "", reply.text
    adr.wait_post("ADR-1: Sessions move to Redis", channel="CGENERAL")
    row = adr.decision(1)
    assert row["context"] == "Memcached loses sessions on restart."
    assert row["decision"] == "Redis, with AOF persistence."
    assert row["channel_id"] == "CGENERAL"


def test_a_form_submitted_with_the_warning_still_saves_the_decision(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    """The warning is advice, not a refusal: the decision is saved (and its author told by
    DM, as before, that it could not be posted)."""
    _private_without_me(emulator)
    view_id = _open(adr, emulator, channel="CSECRET")
    emulator.wait_for("views.update", where=lambda c: c.args["view_id"] == view_id)
    slack.enter(view_id, {Field.DECISION: "Keep it quiet."})
    reply = slack.submit_modal(view_id)
    assert reply.status == 200 and reply.text == "", reply.text
    assert adr.decision(1)["title"] == "Use Postgres"


# -- when the check cannot be made -------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [{"error": "internal_error"}, {"status": 500}, {"status": 429}, {"delay": 3.0}],
    ids=["slack error", "5xx", "rate limited", "timeout"],
)
def test_a_check_that_fails_leaves_the_form_as_it_was(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, fault: dict[str, Any]
) -> None:
    _private_without_me(emulator)
    emulator.fail("conversations.info", **fault)
    view_id = _open(adr, emulator, channel="CSECRET")
    emulator.wait_for("conversations.info")
    slack.listeners_done()
    assert _updates(emulator, view_id) == []
    # no apology either: a check nobody asked for fails quietly
    assert emulator.calls("chat.postMessage") == emulator.calls("response_url") == []

    emulator.fail("conversations.info", **fault)
    reply = slack.pick_in_modal(view_id, Field.CHANNEL, "CSECRET")
    assert reply.status == 200 and reply.text == ""
    slack.listeners_done()
    assert _updates(emulator, view_id) == []
    assert emulator.calls("chat.postMessage") == emulator.calls("response_url") == []


@pytest.mark.parametrize("error", ["hash_conflict", "not_found", "internal_error"])
def test_an_update_slack_refuses_is_dropped_quietly(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, error: str
) -> None:
    _private_without_me(emulator)
    view_id = _open(adr, emulator, channel="CGENERAL")
    slack.listeners_done()
    emulator.fail("views.update", error=error)
    slack.pick_in_modal(view_id, Field.CHANNEL, "CSECRET")
    emulator.wait_for("views.update")
    slack.listeners_done()
    assert _warning(emulator.view(view_id)) is None  # refused: the form is as it was
    assert emulator.calls("chat.postMessage") == emulator.calls("response_url") == []


def test_a_newer_pick_is_not_clobbered_by_the_check_made_when_the_form_opened(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    """The check made on opening is slow; meanwhile the person picks another channel, whose
    check answers first. The slow one's update carries the hash of the view as it opened,
    now stale: Slack refuses it (hash_conflict) and the warning stays about the newer pick."""
    _private_without_me(emulator)
    emulator.set_channel("CVAULT", is_private=True, is_member=False, name="vault")
    emulator.fail("conversations.info", delay=2.0)  # under the request client's 2.5 s
    view_id = _open(adr, emulator, channel="CSECRET")
    emulator.wait_for("conversations.info", where=lambda c: c.args["channel"] == "CSECRET")
    slack.pick_in_modal(view_id, Field.CHANNEL, "CVAULT")
    updates = emulator.wait_for(
        "views.update", count=2, where=lambda c: c.args["view_id"] == view_id
    )
    slack.listeners_done()
    landed, refused = (_answered(c) for c in updates)
    assert landed["ok"] and "<#CVAULT>" in (_warning(updates[0].args["view"]) or "")
    assert refused == {"ok": False, "error": "hash_conflict"}
    assert updates[1].args["hash"] != landed["view"]["hash"]
    assert "<#CVAULT>" in (_warning(emulator.view(view_id)) or "")


# -- the other ways the form opens -------------------------------------------------------------


def test_the_log_as_decision_shortcut_warns_in_its_one_update(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    _private_without_me(emulator)
    slack.message_shortcut(Callback.LOG_MESSAGE_SHORTCUT, text="hello", channel="CSECRET")
    [update] = emulator.wait_for("views.update")
    slack.listeners_done()
    assert len(emulator.calls("views.update")) == 1
    view = update.args["view"]
    assert INVITE in (_warning(view) or "")
    assert _block(view, Field.CONTEXT)["element"]["initial_value"] == "hello"


def test_supersede_checks_the_channel_it_proposes(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    number = adr.new("Use Redis")
    _private_without_me(emulator)
    before = len(emulator.calls("views.open"))
    slack.command(f"supersede {number}", channel="CSECRET")
    call = emulator.wait_for("views.open", count=before + 1)[before]
    view_id = _answered(call)["view"]["id"]
    [update] = emulator.wait_for("views.update", where=lambda c: c.args["view_id"] == view_id)
    assert INVITE in (_warning(update.args["view"]) or "")


def test_edit_has_no_post_in_and_no_check(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    number = adr.new("Use Redis")
    _private_without_me(emulator)
    before = len(emulator.calls("views.open"))
    slack.command(f"edit {number}", channel="CSECRET")
    call = emulator.wait_for("views.open", count=before + 1)[before]
    view_id = _answered(call)["view"]["id"]
    slack.listeners_done()
    assert _block(call.args["view"], Field.CHANNEL) is None
    assert _updates(emulator, view_id) == []
