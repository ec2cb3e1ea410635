"""Errors a user meets: a sentence in Slack, never a 500, a silent timeout or a lost ack."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.core.ids import Action
from storage.models import Decision


def test_slack_error_after_the_ack_still_tells_the_user(slack, emulator, db):
    # views.open fails after /adr acked (e.g. the trigger expired): Bolt must not swallow the
    # ack, and the user hears about it through the command's response_url.
    # Without bot.core.errors.guarded, Bolt 1.30 loses the ack in this race about half the time and
    # Slack sees a 404 after 3 s; five tries make a regression all but certain to show.
    for attempt in range(1, 6):
        emulator.fail("views.open", error="expired_trigger_id")
        reply = slack.command("new Title")
        assert reply.status == 200, f"attempt {attempt}: {reply}"
        said = emulator.wait_for(
            "response_url", count=attempt, where=lambda c: "went wrong" in json.dumps(c.args)
        )
        assert said[-1].args["response_type"] == "ephemeral"
        assert "ref `" in said[-1].args["text"]


def test_domain_error_before_the_ack_is_an_ephemeral_reply_not_a_500(slack, emulator, db):
    reply = slack.command("accept 42")
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "ADR-42 doesn't exist" in body["text"]


def test_button_on_a_missing_decision_answers_via_response_url(slack, emulator, db):
    reply = slack.click(Action.AGREE, "77")
    assert reply.status == 200
    [said] = emulator.wait_for("response_url")
    assert "ADR-77 doesn't exist" in said.args["text"]
    with db.read() as session:
        assert session.exec(select(Decision)).all() == []


def test_unexpected_errors_are_logged_with_ids_and_apologised_for(
    slack, emulator, db, caplog, monkeypatch
):
    from bot.features.decisions import listeners

    def boom(*_a, **_k):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(listeners.search, "search_decisions", boom)
    reply = slack.command("search anything", user="UCAROL", team="TQQQ")
    assert reply.status == 200
    text = reply.json()["text"]
    assert "went wrong on my side" in text and "database on fire" not in text
    ref = text.split("ref `", 1)[1].split("`", 1)[0]
    logged = [r for r in caplog.records if r.name == "bot.core.errors" and ref in r.getMessage()]
    assert (
        logged and "team=TQQQ" in logged[0].getMessage() and "user=UCAROL" in logged[0].getMessage()
    )


def test_a_command_whose_text_says_payload_is_still_answered(slack, emulator, db):
    """Bolt took any form body containing the word "payload" for an interactivity payload
    and dropped the command unanswered (bot/app.py patches its body parser)."""
    for text in ("search payload", "list payload", "payload"):
        reply = slack.command(text)
        assert reply.status == 200 and reply.json()["response_type"] == "ephemeral", text
    before = slack.views_opened()
    reply = slack.command("new Payload size limits")
    assert reply.status == 200
    view = slack.opened_view(after=before)
    assert any(
        "Payload size limits" in str(b.get("element", {}).get("initial_value", ""))
        for b in view["blocks"]
    )
