"""The decision card and the changes that reach people, end to end over signed HTTP against the
Slack emulator, on SQLite and Postgres: a short card with every field filled, Details with the
full record, and an override that posts in the thread, updates the card and DMs the blocker
(not one who turned DMs off)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.ids import Action, Callback, Field
from bot.features.decisions.views import decide_by_day
from tests.support.adr import Adr, all_text, ephemeral
from tests.support.delivery import settle
from tests.support.stances import _open_stance_form, _tally


def card_lines(blocks: list[dict[str, Any]]) -> int:
    """Newline-separated lines across the card's text blocks (buttons not counted)."""
    texts: list[str] = []
    for block in blocks:
        if block["type"] in ("header", "section") and block.get("text"):
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e.get("text", "") for e in block["elements"]]
    return sum(len(t.split("\n")) for t in texts)


LONG = "First line of it.\nSecond line.\nThird line that the card leaves out.\nFourth."
EVERY_FIELD = {
    Field.CONTEXT: "Why: " + "context " * 40,
    Field.OPTIONS: "Postgres, MySQL, SQLite.",
    Field.CONSEQUENCES: "We run a database server.",
    Field.SUCCESS: "p95 under 50 ms.",
    Field.DECIDERS: ["UBOB", "UCAROL"],
    Field.CONSULTED: ["UDAN"],
    Field.INFORMED: ["UERIN"],
    Field.TAGS: "db infra",
}


def test_the_card_is_short_with_every_field_filled_and_details_has_the_rest(adr: Adr, slack):
    # A weekday: a review day on a weekend is shown as the Monday after (storage.rules).
    day = datetime.now(UTC).date() + timedelta(days=40)
    review = (
        day + timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
    ).isoformat()
    decide_by = datetime.now(UTC).date() + timedelta(days=12)
    adr.new(
        "Use Postgres",
        decision=LONG,
        values={**EVERY_FIELD, Field.REVIEW_DATE: review, Field.DECIDE_BY: decide_by.isoformat()},
    )
    view = _open_stance_form(adr, Action.BLOCK, "UDAN")
    slack.submit(view, {Field.REASON: "Ops has no DBA"}, user="UDAN")
    card = adr.wait_update(lambda c: _tally(c) == (0, 0, 1))
    blocks = card.args["blocks"]
    assert card_lines(blocks) <= 10, all_text(card.args)
    text = all_text(card.args)
    assert "First line of it.\nSecond line.…" in text  # the decision in two lines
    assert "Third line" not in text and "context context" not in text
    assert "<@UBOB>" in text and "<@UCAROL>" in text and review in text
    # while proposed, the decide-by date shares the review date's line
    assert f"*Decide by* {decide_by_day(decide_by)} · review {review}" in text
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [
        Action.AGREE,
        Action.DISAGREE,
        Action.BLOCK,
        Action.ACCEPT_ANYWAY,
        Action.DETAILS,
    ]

    before = slack.views_opened()
    assert slack.click(Action.DETAILS, "1", user="UERIN").status == 200
    details = slack.opened_view(after=before)
    assert details["callback_id"] == Callback.DECISION_DETAILS
    assert "submit" not in details and details["title"]["text"] == "ADR-1"
    shown = str(details["blocks"])
    for field in ("Why: context", "Postgres, MySQL, SQLite.", "We run a database server."):
        assert field in shown, field
    assert "Third line that the card leaves out." in shown and "Ops has no DBA" in shown


def test_details_of_a_private_decision_is_refused_from_elsewhere(adr: Adr, slack, emulator):
    emulator.set_channel("CPRIV", is_private=True)
    adr.new("Secret", channel="CPRIV")
    before = slack.views_opened()
    reply = slack.click(Action.DETAILS, "1", user="UOUT", channel="CGENERAL")
    slack.listeners_done()
    assert slack.views_opened() == before
    clicks = [c for c in emulator.calls("response_url") if c.key.startswith("act")]
    answers = reply.text + str([c.args for c in clicks])
    assert "ADR-1" in answers and "Secret" not in answers  # as for one that does not exist


def _blocked(adr: Adr, slack, *, blockers: tuple[str, ...] = ("UEVE",)) -> None:
    adr.new("Rewrite in Rust", values={Field.DECIDERS: ["UBOB"]})
    for user in blockers:
        view = _open_stance_form(adr, Action.BLOCK, user)
        slack.submit(view, {Field.REASON: "Nobody on call knows it"}, user=user)
    adr.wait_update(lambda c: _tally(c)[2] == len(blockers))


def _thread(adr: Adr) -> list[str]:
    ts = adr.decision(1)["message_ts"]
    return [c.args["text"] for c in adr.posts("CGENERAL") if c.args.get("thread_ts") == ts]


def _dms(emulator, user: str) -> list[str]:
    return [c.args["text"] for c in emulator.calls("chat.postMessage") if c.args["channel"] == user]


def test_accept_anyway_asks_a_note_posts_in_the_thread_updates_the_card_and_dms_the_blocker(
    adr: Adr, slack, emulator
):
    _blocked(adr, slack, blockers=("UEVE", "UFAY"))
    assert "I won't DM you" in adr.run("dm off", user="UFAY")
    view = _open_stance_form(adr, Action.DISAGREE, "UGIL")
    assert (
        slack.submit(view, {Field.CONCERN: "Slow", Field.COMMIT: ["commit"]}, user="UGIL").text
        == ""
    )

    # not a decider: refused, no form
    before = slack.views_opened()
    slack.click(Action.ACCEPT_ANYWAY, "1", user="UALICE")
    slack.listeners_done()
    assert slack.views_opened() == before

    slack.click(Action.ACCEPT_ANYWAY, "1", user="UBOB")
    form = slack.opened_view(after=before)
    assert form["callback_id"] == Callback.OVERRIDE_FORM
    assert "Nobody on call knows it" in str(form["blocks"])
    empty = slack.submit(form, {Field.OVERRIDE_NOTE: "  "}, user="UBOB").json()
    assert empty["response_action"] == "errors" and adr.decision(1)["status"] == "proposed"
    assert slack.submit(form, {Field.OVERRIDE_NOTE: "budget approved"}, user="UBOB").text == ""
    assert slack.submit(form, {Field.OVERRIDE_NOTE: "budget approved"}, user="UBOB").text == ""
    assert adr.decision(1)["status"] == "accepted"

    line = "Accepted by <@UBOB> over <@UEVE>, <@UFAY>'s blocks: budget approved"
    emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("text") == line)
    card = adr.wait_update(lambda c: "budget approved" in all_text(c.args))
    assert "Accepted by <@UBOB> over" in all_text(card.args)
    assert Action.ACCEPT_ANYWAY not in str(card.args["blocks"])
    emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UGIL")
    emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UEVE")
    slack.listeners_done()
    settle(slack)
    assert _thread(adr) == [line]  # once, though Submit came twice
    [to_eve] = _dms(emulator, "UEVE")
    assert "accepted by <@UBOB> over your block: budget approved" in to_eve
    assert "Disagree & commit stays on the record" in _dms(emulator, "UGIL")[0]
    assert _dms(emulator, "UFAY") == []  # DMs off


def test_lifecycle_commands_post_one_line_in_the_thread(adr: Adr, slack, emulator):
    _blocked(adr, slack)
    assert ephemeral(slack.command("accept 1 --override ship it", user="UBOB")) == (
        "ADR-1 is now accepted."
    )
    ephemeral(slack.command("deprecate 1 replaced by managed queue", user="UBOB"))
    emulator.wait_for("chat.postMessage", count=2, where=lambda c: bool(c.args.get("thread_ts")))
    assert _thread(adr) == [
        "Accepted by <@UBOB> over <@UEVE>'s block: ship it",
        "Deprecated by <@UBOB>: replaced by managed queue",
    ]
