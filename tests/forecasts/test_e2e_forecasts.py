"""Forecasts end to end over signed HTTP, on SQLite and Postgres: given in the decision form
(with the door), in the Disagree & commit and Block forms, through **Add my forecast** after
an Agree and on the App Home; refused saves keep the modal open; and no Slack call anyone
else can see carries a person's unscored forecast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.core.ids import Action, Callback, Field
from tests.support.adr import Adr, all_text
from tests.support.delivery import settle
from tests.support.harness import Reply, SlackDriver
from tests.support.reviews import new_decision, open_outcome_form, opened, submit_outcome
from tests.support.slack_emulator import Call, SlackEmulator


def _forecasts(adr: Adr, number: int = 1) -> dict[str | None, dict[str, Any]]:
    rows = adr.rows(
        "SELECT f.* FROM forecasts f JOIN decisions d ON d.id = f.decision_id "
        "WHERE d.team_id = 'TAAA' AND d.number = :n ORDER BY f.id",
        n=number,
    )
    return {r["user_id"]: r for r in rows}


def _input(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return block


def _initial(view: dict[str, Any], block_id: str) -> str | None:
    option = _input(view, block_id)["element"].get("initial_option")
    return option["value"] if option else None


def _open(slack: SlackDriver, action: str, user: str, number: int = 1) -> dict[str, Any]:
    before = slack.views_opened()
    reply = slack.click(action, str(number), user=user)
    assert reply.status == 200 and reply.text == "", reply.text
    return slack.opened_view(after=before)


def _agree_confirmation(emulator: SlackEmulator, count: int = 1) -> Call:
    """The ephemeral answer to an Agree (through the click's response_url)."""

    def offers_forecast(call: Call) -> bool:
        return Action.FORECAST_ADD in all_text(call.args.get("blocks") or [])

    return emulator.wait_for("response_url", count=count, where=offers_forecast)[count - 1]


def _home(slack: SlackDriver, emulator: SlackEmulator, user: str) -> list[dict[str, Any]]:
    before = len(emulator.calls("views.publish"))
    assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status == 200
    [*_, call] = emulator.wait_for("views.publish", count=before + 1)
    assert call.args["user_id"] == user
    return list(call.args["view"]["blocks"])


def _home_buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """{ADR number: the text beside it} for every forecast button on a Home tab."""
    return {
        b["accessory"]["value"]: b["text"]["text"]
        for b in blocks
        if b.get("accessory", {}).get("action_id") == Action.FORECAST_HOME
    }


# -- giving a forecast -------------------------------------------------------------------------


def test_decision_form_stores_the_authors_forecast_and_the_door(adr: Adr, slack, emulator):
    view = adr.open_form("new Move to Kafka")
    forecast, door = _input(view, Field.FORECAST), _input(view, Field.DOOR)
    assert forecast["optional"] and door["optional"]
    assert [o["value"] for o in forecast["element"]["options"]] == [
        "10", "25", "40", "50", "60", "75", "90", "95"
    ]  # fmt: skip
    assert [o["text"]["text"] for o in door["element"]["options"]] == [
        "Two-way door: cheap to undo",
        "One-way door: hard to undo",
    ]
    values = {
        Field.DECISION: "Events go through Kafka.",
        Field.DECIDERS: ["UBOB"],
        Field.FORECAST: "75",
        Field.DOOR: "one_way",
    }
    assert slack.submit(view, values).text == ""
    assert slack.submit(view, values).text == ""  # the same Submit again records once
    adr.wait_recorded(1)
    assert adr.count("decisions") == 1
    assert adr.decision(1)["door"] == "one_way"
    [(user, row)] = _forecasts(adr).items()
    assert (user, row["probability"], row["source"], row["state"]) == (
        "UALICE",
        75,
        "decision",
        "pending",
    )
    # a form left without them stores neither
    adr.new("No forecast here")
    assert adr.decision(2)["door"] is None and _forecasts(adr, 2) == {}

    # the edit form shows the door and the editor's own forecast; a decider sees none of hers
    edit = adr.open_form("edit 1")
    assert (_initial(edit, Field.DOOR), _initial(edit, Field.FORECAST)) == ("one_way", "75")
    reply = slack.submit(edit, {Field.FORECAST: "90"})
    assert reply.status == 200 and reply.text == ""
    assert _forecasts(adr)["UALICE"]["probability"] == 90
    assert adr.decision(1)["door"] == "one_way"  # kept through the edit
    bob = adr.open_form("edit 1", user="UBOB")
    assert (_initial(bob, Field.DOOR), _initial(bob, Field.FORECAST)) == ("one_way", None)


def test_disagree_and_block_forms_store_the_persons_forecast(adr: Adr, slack, emulator):
    adr.new("Adopt trunk-based development")
    view = _open(slack, Action.DISAGREE, "UBOB")
    assert _initial(view, Field.FORECAST) is None and _input(view, Field.FORECAST)["optional"]
    concern = {Field.CONCERN: "Releases get harder", Field.COMMIT: ["commit"]}
    reply = slack.submit(view, {**concern, Field.FORECAST: "25"}, user="UBOB")
    assert reply.status == 200 and reply.text == ""
    assert adr.stances(1)["UBOB"]["kind"] == "disagree_and_commit"
    row = _forecasts(adr)["UBOB"]
    assert (row["probability"], row["source"], row["state"]) == (25, "stance", "pending")

    # the Block form shows it, and changes it with the stance
    view = _open(slack, Action.BLOCK, "UBOB")
    assert _initial(view, Field.FORECAST) == "25"
    reply = slack.submit(view, {Field.REASON: "No CI yet", Field.FORECAST: "10"}, user="UBOB")
    assert reply.status == 200 and reply.text == ""
    assert adr.stances(1)["UBOB"]["kind"] == "block"
    assert _forecasts(adr)["UBOB"]["probability"] == 10

    # a stance without a forecast stores none
    view = _open(slack, Action.BLOCK, "UCAROL")
    assert slack.submit(view, {Field.REASON: "Same"}, user="UCAROL").text == ""
    assert adr.stances(1)["UCAROL"]["kind"] == "block"
    assert "UCAROL" not in _forecasts(adr)


def test_agree_then_add_my_forecast(adr: Adr, slack, emulator):
    adr.new("Tabs, not spaces")
    assert slack.click(Action.AGREE, "1", user="UCAROL").status == 200
    confirmation = _agree_confirmation(emulator)
    assert confirmation.args["response_type"] == "ephemeral"
    assert confirmation.args.get("replace_original") is False
    assert "You agree with ADR-1." in all_text(confirmation.args)

    view = _open(slack, Action.FORECAST_ADD, "UCAROL")
    assert view["callback_id"] == Callback.FORECAST_FORM
    assert _initial(view, Field.FORECAST) is None
    assert "Only you see your forecast until" in all_text(view["blocks"])
    reply = slack.submit(view, {Field.FORECAST: "60"}, user="UCAROL")
    answer = reply.json()
    assert answer["response_action"] == "update"
    assert "Your forecast for ADR-1: 60%. Only you see it until the review." in all_text(
        answer["view"]["blocks"]
    )
    row = _forecasts(adr)["UCAROL"]
    assert (row["probability"], row["source"], row["state"]) == (60, "added", "pending")

    # again: the modal shows 60; a change replaces it (one row per person)
    view = _open(slack, Action.FORECAST_ADD, "UCAROL")
    assert _initial(view, Field.FORECAST) == "60"
    slack.submit(view, {Field.FORECAST: "75"}, user="UCAROL")
    assert list(_forecasts(adr)) == ["UCAROL"] and _forecasts(adr)["UCAROL"]["probability"] == 75
    # agreeing again says what she forecast, to her alone, and offers to change it
    slack.click(Action.AGREE, "1", user="UCAROL")
    again = all_text(_agree_confirmation(emulator, count=2).args)
    assert "Change my forecast" in again and "Your forecast: 75%." in again


def test_a_refused_save_keeps_the_modal_open_with_the_reason(adr: Adr, slack, emulator):
    adr.new("Rewrite in Rust")
    slack.click(Action.AGREE, "1", user="UCAROL")
    _agree_confirmation(emulator)
    view = _open(slack, Action.FORECAST_ADD, "UCAROL")
    stance_view = _open(slack, Action.DISAGREE, "UBOB")
    adr.run("reject 1")  # meanwhile, the author rejects it
    assert adr.decision(1)["status"] == "rejected"

    reply = slack.submit(view, {Field.FORECAST: "40"}, user="UCAROL")
    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [Field.FORECAST]
    assert "ADR-1 is rejected" in answer["errors"][Field.FORECAST]
    # the stance form's forecast is refused the same way: nothing saved, no 500
    values = {Field.CONCERN: "Too big", Field.COMMIT: ["commit"], Field.FORECAST: "10"}
    reply = slack.submit(stance_view, values, user="UBOB")
    assert reply.status == 200 and reply.json()["response_action"] == "errors"
    assert _forecasts(adr) == {}
    assert "UBOB" not in adr.stances(1)
    # and the button says so instead of opening the modal
    before = slack.views_opened()
    slack.click(Action.FORECAST_ADD, "1", user="UCAROL")
    slack.listeners_done()
    assert slack.views_opened() == before


def test_home_lists_my_forecasts_offers_more_and_shows_my_calibration(
    adr: Adr, slack, emulator, db
):
    number = new_decision(adr, title="Cache the catalogue", deciders=("UBOB",))
    assert number == 1
    adr.new("Bob has no part in this")  # ADR-2: not offered to Bob

    blocks = _home(slack, emulator, "UBOB")
    assert "*Add your forecast*" in all_text(blocks)
    assert _home_buttons(blocks) == {"1": "*ADR-1* Cache the catalogue"}
    assert "Your forecasts" not in all_text(blocks) and "Your calibration" not in all_text(blocks)

    view = _open(slack, Action.FORECAST_HOME, "UBOB")
    assert slack.submit(view, {Field.FORECAST: "75"}, user="UBOB").json()["response_action"] == (
        "update"
    )
    # saving from the Home tab publishes it again, with the forecast and a Change button
    [*_, again] = emulator.wait_for(
        "views.publish", where=lambda c: "your forecast 75%" in all_text(c.args["view"])
    )
    assert again.args["user_id"] == "UBOB"
    blocks = again.args["view"]["blocks"]
    assert "*Your forecasts*" in all_text(blocks)
    assert _home_buttons(blocks) == {"1": "*ADR-1* Cache the catalogue · your forecast 75%"}
    assert "Add your forecast" not in all_text(blocks)

    # the review answers "worked": the forecast is scored, and Bob's Home shows his calibration
    r, _ = opened(slack, db, number)
    form = open_outcome_form(slack, Action.REVIEW_WORKED, r.id, "UBOB")
    submit_outcome(slack, form, "UBOB", "It held up")
    assert _forecasts(adr)["UBOB"]["state"] == "scored"
    text = all_text(_home(slack, emulator, "UBOB"))
    assert "Scored forecasts: 1 · Brier score 0.06 (0 is perfect" in text
    assert "75%: 1 forecast, came true 100%" in text
    assert "your forecast 75%" not in text  # no longer pending
    assert "calibration" not in all_text(_home(slack, emulator, "UCAROL")).lower()

    # once scored, an edit offers Bob no forecast, and one Alice picks is refused on its field
    assert Field.FORECAST not in [
        b.get("block_id") for b in adr.open_form("edit 1", user="UBOB")["blocks"]
    ]
    edit = adr.open_form("edit 1")
    reply = slack.submit(edit, {Field.TITLE: "Cache it all", Field.FORECAST: "50"})
    answer = reply.json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [Field.FORECAST]
    assert "already scored" in answer["errors"][Field.FORECAST]
    assert adr.decision(1)["title"] == "Cache the catalogue"  # the edit was rolled back too
    assert "UALICE" not in _forecasts(adr)


# -- privacy: nobody else sees a person's unscored forecast ------------------------------------

PERCENT = re.compile(r"\b(\d{1,2})%")
# Slack calls shown to whoever did what started them (not addressed to anyone by their arguments)
TO_THE_ACTOR = frozenset({"views.open", "views.update", "views.push", "response_url"})


def _shown_percents(value: Any) -> set[int]:
    """Every percentage shown in a Slack payload, leaving out a select's list of choices
    (every forecast select lists 10% to 95%) but not the choice it shows as picked."""
    found: set[int] = set()
    if isinstance(value, str):
        found.update(int(p) for p in PERCENT.findall(value))
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key != "options":
                found |= _shown_percents(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _shown_percents(inner)
    return found


class Witness:
    """Who can see each Slack call: one person (a DM, an ephemeral, their Home, the modal or
    response_url answer of what they did) or everyone (None)."""

    def __init__(self, slack: SlackDriver) -> None:
        self.slack = slack
        self.windows: list[tuple[int, int, str]] = []
        self.replies: list[tuple[str, Reply]] = []

    @contextmanager
    def acting(self, user: str) -> Iterator[None]:
        """What ``user`` does inside: the calls it starts, until the app is idle again."""
        self._idle()
        start = len(self.slack.emulator.calls())
        yield
        self._idle()
        self.windows.append((start, len(self.slack.emulator.calls()), user))

    def _idle(self) -> None:
        self.slack.listeners_done()
        settle(self.slack)

    def reply(self, user: str, reply: Reply) -> Reply:
        self.replies.append((user, reply))
        return reply

    def audience(self, index: int, call: Call) -> str | None:
        args = call.args
        if call.method == "views.publish":
            return str(args["user_id"])
        if call.method == "chat.postEphemeral":
            return str(args["user"])
        if call.method in TO_THE_ACTOR:
            for start, end, user in self.windows:
                if start <= index < end:
                    return user
            return None
        channel = str(args.get("channel") or "")
        if channel[:1] in ("U", "W"):  # a DM, addressed by user id
            return channel
        return None  # a channel, a conversation we cannot name: everyone

    def shown(self) -> Iterator[tuple[str | None, set[int], str]]:
        """(who can see it, the percentages it shows, what it is) for everything Slack got."""
        for index, call in enumerate(self.slack.emulator.calls()):
            yield self.audience(index, call), _shown_percents(call.args), call.method
        for user, reply in self.replies:
            body = reply.json() if reply.text else {}
            yield user, _shown_percents(body), "HTTP answer"


def test_no_slack_call_shows_anyone_elses_unscored_forecast(adr: Adr, slack, emulator):
    witness = Witness(slack)
    forecasts = {"UALICE": 95, "UBOB": 10, "UCAROL": 60}

    with witness.acting("UALICE"):  # Alice records it, forecasting 95%
        view = adr.open_form("new Ship the mobile app")
        values = {
            Field.DECISION: "We ship in May.",
            Field.DECIDERS: ["UALICE", "UBOB"],
            Field.FORECAST: "95",
            Field.DOOR: "two_way",
        }
        witness.reply("UALICE", slack.submit(view, values))
        adr.wait_recorded(1)
    with witness.acting("UBOB"):  # Bob blocks it, forecasting 10%
        view = _open(slack, Action.BLOCK, "UBOB")
        values = {Field.REASON: "QA isn't staffed", Field.FORECAST: "10"}
        witness.reply("UBOB", slack.submit(view, values, user="UBOB"))
    with witness.acting("UCAROL"):  # Carol agrees, then adds 60%
        slack.click(Action.AGREE, "1", user="UCAROL")
        _agree_confirmation(emulator)
        view = _open(slack, Action.FORECAST_ADD, "UCAROL")
        witness.reply("UCAROL", slack.submit(view, {Field.FORECAST: "60"}, user="UCAROL"))
    assert {u: r["probability"] for u, r in _forecasts(adr).items()} == forecasts
    for user in ("UALICE", "UBOB", "UCAROL", "UDAN"):
        with witness.acting(user):
            _home(slack, emulator, user)
            witness.reply(user, slack.command("show 1", user=user))
            witness.reply(user, slack.command("list", user=user))
    with witness.acting("UBOB"):  # the Block form again: Bob sees his own 10%
        view = _open(slack, Action.BLOCK, "UBOB")
        assert _initial(view, Field.FORECAST) == "10"
    slack.finish()

    seen: dict[str | None, set[int]] = {}
    for audience, percents, method in witness.shown():
        seen.setdefault(audience, set()).update(percents)
        for forecaster, probability in forecasts.items():
            assert audience == forecaster or probability not in percents, (
                f"{method} seen by {audience or 'everyone'} shows {forecaster}'s {probability}%"
            )
    # each saw their own (so the check above looks where forecasts do show up)
    assert {95} <= seen["UALICE"] and {10} <= seen["UBOB"] and {60} <= seen["UCAROL"]
    assert not {95, 10, 60} & (seen.get(None, set()) | seen["UDAN"])
    assert emulator.calls("chat.update")  # the channel card was refreshed by the stances
